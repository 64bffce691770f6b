import BuiltinMethods
import Foundation
import Inference
import ModelIO
import PluginAPI
import PluginHost
import PruningEngine
import TestSupport
import Testing

/// ABI 1.1 unit criteria: the C example's Wanda-sp and gate Taylor scores remove the same heads,
/// KV groups and FFN channels as the built-in criteria; unit criteria are refused where weights are
/// scored and the reverse; and the Wanda example built against the frozen 1.0 header still loads
/// and prunes exactly like the 1.1 build.
@Suite("plugin unit criteria")
struct PluginUnitCriterionTests {
    /// A three-layer tiny model.
    static func model() throws -> Model {
        var config = TinyModel.config
        config.layers = Array(repeating: config.layers[0], count: 3)
        return try TinyModel.make(config, seed: 43)
    }

    /// Five windows of 10 ids.
    static var windows: [[Int32]] { PluginStepTests.windows(5, length: 10, seed: 81) }

    /// Every linear weight of a fresh model after `step`.
    static func prune(_ step: any PruneStep) throws -> [String: [Float]] {
        let model = try Self.model()
        _ = try Pruner(model: model, steps: [step]).run(calibration: windows)
        return Dictionary(
            uniqueKeysWithValues: model.tensorNames.filter { $0.hasPrefix("blk.") }.map {
                ($0, model.tensor($0)!.storage.array)
            })
    }

    /// The example's criterion `id` as a scorer.
    static func scorer(_ id: String) throws -> PluginUnitScorer {
        try PluginUnitScorer(
            PluginCriterion(library: try BuiltPlugins.load("ShearsUnitsPlugin"), id: id))
    }

    @Test(
        "the C unit criteria remove what the built-in wanda_sp and taylor remove",
        arguments: [UnitRemoval.Unit.queryHeads, .kvGroups, .channels])
    func sameAsBuiltin(unit: UnitRemoval.Unit) throws {
        let ratio = 0.5
        for (id, builtin) in [("wanda_sp", UnitRemoval.Criterion.wandaSP), ("gate_taylor", .taylor)] {
            let plugin = try Self.prune(try UnitRemoval(unit: unit, scorer: Self.scorer(id), ratio: ratio))
            let reference = try Self.prune(try UnitRemoval(unit: unit, criterion: builtin, ratio: ratio))
            #expect(plugin == reference, "\(id) on \(unit)")
        }
    }

    @Test("descriptors: unit flag, gate gradients listed; a unit criterion scores no weights")
    func descriptors() throws {
        let library = try BuiltPlugins.load("ShearsUnitsPlugin")
        #expect(library.abiVersion.minor == 1)
        let gate = try library.criterion("gate_taylor")
        #expect(gate.isUnitCriterion && gate.readsGateGradients)
        #expect(gate.statisticsNames == ["gate_gradients"])
        #expect(try library.criterion("wanda_sp").statisticsNames == ["squared_norms"])
        let criterion = try PluginCriterion(library: library, id: "wanda_sp")
        do {
            let model = try Self.model()
            _ = try Pruner(model: model, steps: try PluginMethod.steps(criterion, sparsity: 0.5)).run(
                calibration: Self.windows)
            Issue.record("a unit criterion scored weights")
        } catch { #expect("\(error)".contains("a unit criterion scores no weights"), "\(error)") }
        let wanda = try PluginCriterion(library: try BuiltPlugins.load("ShearsWandaPlugin"), id: "wanda")
        #expect(throws: PluginError.self) { try PluginUnitScorer(wanda) }
    }

    @Test("a plugin built against ABI 1.0 loads and prunes exactly like the same plugin built against 1.1")
    func abi10PluginUnchanged() throws {
        let old = try BuiltPlugins.load("ShearsFixtureWandaABI10")
        #expect(old.abiVersion.major == 1 && old.abiVersion.minor == 0)
        #expect(old.entrySize == PluginABI.minimumEntrySize)
        let oldCriterion = try PluginCriterion(library: old, id: "wanda")
        #expect(oldCriterion.structSize == PluginABI.minimumCriterionSize)
        #expect(!oldCriterion.descriptor.isUnitCriterion)
        let newCriterion = try PluginCriterion(library: try BuiltPlugins.load("ShearsWandaPlugin"), id: "wanda")
        #expect(newCriterion.structSize == MemoryLayout<shears_criterion>.size)
        func pruned(_ criterion: PluginCriterion) throws -> [Float] {
            let model = try TinyModel.make()
            _ = try Pruner(model: model, steps: try PluginMethod.steps(criterion, sparsity: 0.5)).run(
                calibration: PluginStepTests.windows())
            return model.tensorNames.filter { $0.hasPrefix("blk.") }.sorted().flatMap {
                model.tensor($0)!.storage.array
            }
        }
        #expect(try pruned(oldCriterion) == pruned(newCriterion))
    }
}
