import Dispatch
import Foundation
import PluginAPI
import PruningEngine

/// One finding of the conformance checker.
public struct PluginCheckResult: Sendable, Equatable {
    /// How a check came out.
    public enum Outcome: String, Sendable {
        /// The plugin follows the rule.
        case pass
        /// The plugin breaks a MUST rule; the host would stop a recipe.
        case fail
        /// The plugin breaks a SHOULD rule.
        case warn
        /// A measurement or fact, not a verdict.
        case info
    }

    /// The criterion, or nil for the library as a whole.
    public let criterion: String?
    /// The check's name (`abi`, `determinism`, `strides`, ...).
    public let check: String
    /// The verdict.
    public let outcome: Outcome
    /// What was seen.
    public let detail: String
}

/// `shears plugin-check`: runs a plugin's criteria on generated fixtures and reports version and
/// struct sizes, determinism, strided views, NaN/Inf inputs, error reporting, the thread-safety
/// declaration, masks from `select`, and time per million weights.
public enum PluginConformance {
    /// Checks every criterion of `library` (or only `only`).
    ///
    /// - Throws: `PluginError` when `only` names a criterion the plugin does not offer.
    public static func check(
        _ library: PluginLibrary, only: String? = nil, timingRuns: Int = 7
    ) throws(PluginError) -> [PluginCheckResult] {
        let host = PluginABI.hostVersion
        let abi = library.abiVersion
        var results = [
            PluginCheckResult(
                criterion: nil, check: "abi", outcome: .info,
                detail:
                    "plugin ABI \(abi.major).\(abi.minor).\(abi.patch), host \(host.major).\(host.minor).\(host.patch); entry struct_size \(library.entrySize) (host \(MemoryLayout<shears_plugin_entry>.size))"
            )
        ]
        let descriptors = try only.map { id throws(PluginError) in [try library.criterion(id)] } ?? library.criteria
        if descriptors.isEmpty {
            results.append(
                PluginCheckResult(
                    criterion: nil, check: "criteria", outcome: .fail, detail: "the plugin offers no criterion"))
        }
        for descriptor in descriptors {
            results += checkCriterion(descriptor, of: library, timingRuns: timingRuns)
        }
        return results
    }

    private static func checkCriterion(
        _ descriptor: PluginCriterionDescriptor, of library: PluginLibrary,
        timingRuns: Int
    ) -> [PluginCheckResult] {
        var results: [PluginCheckResult] = []
        func report(_ check: String, _ outcome: PluginCheckResult.Outcome, _ detail: String) {
            results.append(PluginCheckResult(criterion: descriptor.id, check: check, outcome: outcome, detail: detail))
        }
        let criterion: PluginCriterion
        do throws(PluginError) {
            criterion = try PluginCriterion(library: library, id: descriptor.id)
        } catch {
            report("create", .fail, error.message)
            return results
        }
        report(
            "struct-sizes", .info,
            "descriptor \(descriptor.structSize) (host \(MemoryLayout<shears_criterion_descriptor>.size)), instance \(criterion.structSize) (host \(MemoryLayout<shears_criterion>.size)), score input \(MemoryLayout<shears_score_input>.size) passed"
        )
        if descriptor.isUnitCriterion {
            report(
                "units", .info,
                "a unit criterion (ABI 1.1): the weight-score checks below do not apply; its score_units runs in unit steps"
            )
            return results
        }
        report(
            "declaration", .info,
            "statistics: \(descriptor.statisticsNames.isEmpty ? "none" : descriptor.statisticsNames.joined(separator: ", ")); \(descriptor.isThreadSafe ? "thread-safe" : "one call per instance at a time"); select: \(criterion.hasSelect ? "yes" : "no")"
        )
        let fixture = PluginFixture(rows: 48, columns: 96, seed: 0x5EED)
        // The inputs below borrow the fixture's buffers: it must outlive every call made with them.
        defer { withExtendedLifetime(fixture) {} }
        let statistics = descriptor.statistics

        // Scores on the plain fixture: the reference for everything below.
        let reference: [Float]
        switch scores(criterion, fixture.input(statistics: statistics)) {
        case .success(let scores): reference = scores
        case .failure(let error):
            report("score", .fail, error.message)
            return results
        }
        if let index = reference.withUnsafeBufferPointer({ PluginScoreCheck.firstNaN($0) }) {
            report("score", .fail, "wrote NaN (or left unwritten) at index \(index) on finite input")
            return results
        }
        report("score", .pass, "\(fixture.rows)×\(fixture.columns) scored without NaN")

        switch scores(criterion, fixture.input(statistics: statistics)) {
        case .success(let again) where bitwiseEqual(again, reference):
            report("determinism", .pass, "same input, same scores (bitwise)")
        case .success: report("determinism", .fail, "a second call on the same input gave different scores")
        case .failure(let error): report("determinism", .fail, "a second call failed: \(error.message)")
        }

        for (layout, name) in [
            (PluginFixture.Layout.paddedRows, "padded rows (stride \(fixture.columns + 5))"),
            (.interleaved, "every other column (strides [\(2 * fixture.columns), 2])"),
        ] {
            switch scores(criterion, fixture.input(statistics: statistics, layout: layout)) {
            case .success(let strided) where bitwiseEqual(strided, reference):
                report("strides", .pass, "\(name), statistics at stride 3: same scores")
            case .success:
                report("strides", .fail, "\(name): scores differ from the contiguous view's (strides ignored?)")
            case .failure(let error): report("strides", .fail, "\(name): \(error.message)")
            }
        }

        results += nonFiniteCheck(criterion, fixture)
        results += errorReportingCheck(criterion, fixture)
        results += patternCheck(criterion, fixture)
        if criterion.hasSelect { results += selectCheck(criterion, fixture, reference: reference) }
        results += threadCheck(criterion, library: library)
        results += timing(criterion, runs: timingRuns)
        return results
    }

    // MARK: Individual checks

    private static func nonFiniteCheck(_ criterion: PluginCriterion, _ fixture: PluginFixture) -> [PluginCheckResult] {
        let id = criterion.descriptor.id
        let copy = UnsafeMutableBufferPointer<Float>.allocate(capacity: fixture.weights.count)
        defer { copy.deallocate() }
        _ = copy.initialize(from: fixture.weights)
        copy[5] = .nan
        copy[fixture.columns + 7] = .infinity
        copy[2 * fixture.columns + 1] = -.infinity
        var input = fixture.input(statistics: criterion.descriptor.statistics)
        input.weight = PluginTensorView(copy.baseAddress!, shape: [fixture.rows, fixture.columns])
        switch scores(criterion, input) {
        case .failure(let error):
            return [
                PluginCheckResult(
                    criterion: id, check: "nan-inf-input", outcome: .pass,
                    detail: "rejected with a message: \(error.message)")
            ]
        case .success(let result):
            let nanCount = result.filter(\.isNaN).count
            if nanCount == 0 {
                return [
                    PluginCheckResult(
                        criterion: id, check: "nan-inf-input", outcome: .pass,
                        detail: "NaN/±Inf weights gave no NaN score")
                ]
            }
            if nanCount == 1, result[5].isNaN {
                return [
                    PluginCheckResult(
                        criterion: id, check: "nan-inf-input", outcome: .info,
                        detail:
                            "the NaN weight gives a NaN score, ±Inf weights none (the host stops on NaN scores, naming the tensor)"
                    )
                ]
            }
            return [
                PluginCheckResult(
                    criterion: id, check: "nan-inf-input", outcome: .warn,
                    detail:
                        "one NaN and two ±Inf weights gave \(nanCount) NaN scores (SHOULD keep NaN to where the input is NaN, or return INVALID_ARGUMENT)"
                )
            ]
        }
    }

    private static func errorReportingCheck(
        _ criterion: PluginCriterion, _ fixture: PluginFixture
    ) -> [PluginCheckResult] {
        let id = criterion.descriptor.id
        var input = fixture.input(statistics: criterion.descriptor.statistics)
        input.weight.dtype = shears_dtype(SHEARS_DTYPE_F16)
        switch scores(criterion, input) {
        case .failure(let error) where error.message.hasSuffix("without a message"):
            return [
                PluginCheckResult(
                    criterion: id, check: "error-reporting", outcome: .warn,
                    detail: "refused an F16 view but wrote no message")
            ]
        case .failure(let error):
            return [
                PluginCheckResult(
                    criterion: id, check: "error-reporting", outcome: .pass,
                    detail: "an F16 view is refused: \(error.message)")
            ]
        case .success:
            return [
                PluginCheckResult(
                    criterion: id, check: "error-reporting", outcome: .fail,
                    detail: "accepted an F16 weight view (dtype not checked)")
            ]
        }
    }

    private static func patternCheck(_ criterion: PluginCriterion, _ fixture: PluginFixture) -> [PluginCheckResult] {
        let id = criterion.descriptor.id
        let input = fixture.input(
            statistics: criterion.descriptor.statistics, sparsity: 0.5, pattern: .nm(keep: 2, group: 4))
        switch scores(criterion, input) {
        case .success(let result) where result.withUnsafeBufferPointer({ PluginScoreCheck.firstNaN($0) }) == nil:
            return [
                PluginCheckResult(
                    criterion: id, check: "pattern-2:4", outcome: .pass, detail: "scored for a 2:4 pattern")
            ]
        case .success:
            return [
                PluginCheckResult(
                    criterion: id, check: "pattern-2:4", outcome: .fail, detail: "wrote NaN for a 2:4 pattern")
            ]
        case .failure(let error):
            return [PluginCheckResult(criterion: id, check: "pattern-2:4", outcome: .fail, detail: error.message)]
        }
    }

    private static func selectCheck(
        _ criterion: PluginCriterion, _ fixture: PluginFixture, reference: [Float]
    ) -> [PluginCheckResult] {
        let id = criterion.descriptor.id
        var results: [PluginCheckResult] = []
        for pattern in [SparsityPattern.unstructured, .nm(keep: 2, group: 4)] {
            let input = fixture.input(statistics: criterion.descriptor.statistics, sparsity: 0.5, pattern: pattern)
            var mask = [UInt8](repeating: 0xFF, count: fixture.weights.count)
            let outcome: Result<Void, PluginError> = input.withRawInput { raw in
                reference.withUnsafeBufferPointer { scores in
                    mask.withUnsafeMutableBufferPointer { out in
                        Result { () throws(PluginError) in
                            try criterion.select(raw, scores: scores.baseAddress!, into: out.baseAddress!)
                        }
                    }
                }
            }
            let problem: String? =
                switch outcome {
                case .failure(let error): error.message
                case .success:
                    mask.withUnsafeBufferPointer {
                        PluginScoreCheck.maskProblem(
                            $0, rows: fixture.rows, columns: fixture.columns, sparsity: 0.5, pattern: pattern)
                    }
                }
            results.append(
                PluginCheckResult(
                    criterion: id, check: "select-\(pattern)", outcome: problem == nil ? .pass : .fail,
                    detail: problem ?? "a valid mask for sparsity 0.5, \(pattern)"))
        }
        return results
    }

    private static func threadCheck(_ criterion: PluginCriterion, library: PluginLibrary) -> [PluginCheckResult] {
        let id = criterion.descriptor.id
        let threads = 4, callsPerThread = 6
        let declared = criterion.descriptor.isThreadSafe
        // Each thread scores its own matrix (a shared scratch buffer then shows), against the
        // scores of a serial call. Thread-safe: all threads share one instance. Otherwise: one
        // instance per thread, as a host scoring matrices in parallel would do.
        var instances: [PluginCriterion] = []
        var fixtures: [PluginFixture] = []
        var references: [[Float]] = []
        for thread in 0..<threads {
            do throws(PluginError) {
                instances.append(declared ? criterion : try PluginCriterion(library: library, id: id))
                let fixture = PluginFixture(rows: 48, columns: 96, seed: 100 + UInt64(thread))
                references.append(
                    try scores(criterion, fixture.input(statistics: criterion.descriptor.statistics)).get())
                fixtures.append(fixture)
            } catch {
                return [
                    PluginCheckResult(
                        criterion: id, check: "threads", outcome: .fail,
                        detail: "before the concurrent calls: \(error.message)")
                ]
            }
        }
        let mismatches = Mismatches()
        let shared = UnsafeSendable((instances, fixtures, references))
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let (instances, fixtures, references) = shared.value
            let instance = instances[thread]
            for _ in 0..<callsPerThread {
                switch scores(instance, fixtures[thread].input(statistics: instance.descriptor.statistics)) {
                case .success(let result) where bitwiseEqual(result, references[thread]): continue
                default: mismatches.add()
                }
            }
        }
        let setting =
            declared
            ? "\(threads) threads on one instance (declared thread-safe)"
            : "\(threads) threads on \(threads) instances (not declared thread-safe; the host serialises calls per instance)"
        let bad = mismatches.count
        return [
            PluginCheckResult(
                criterion: id, check: "threads", outcome: bad == 0 ? .pass : .fail,
                detail: bad == 0
                    ? "\(setting): every result identical to a serial call"
                    : "\(setting): \(bad) of \(threads * callsPerThread) calls failed or differed from a serial call")
        ]
    }

    private static func timing(_ criterion: PluginCriterion, runs: Int) -> [PluginCheckResult] {
        let fixture = PluginFixture(rows: 1024, columns: 1024, seed: 7)
        let input = fixture.input(statistics: criterion.descriptor.statistics)
        var scores = [Float](repeating: 0, count: fixture.weights.count)
        var samples: [Double] = []
        var failure: PluginError?
        // `input` borrows the fixture's buffers: keep the fixture alive until the last call.
        withExtendedLifetime(fixture) {
            input.withRawInput { raw in
                scores.withUnsafeMutableBufferPointer { out in
                    for _ in 0..<max(runs, 1) + 1 {
                        let start = DispatchTime.now().uptimeNanoseconds
                        do throws(PluginError) {
                            try criterion.score(raw, into: out.baseAddress!)
                        } catch {
                            failure = error
                            return
                        }
                        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-6)
                    }
                }
            }
        }
        let id = criterion.descriptor.id
        if let failure {
            return [PluginCheckResult(criterion: id, check: "time", outcome: .fail, detail: failure.message)]
        }
        let timed = samples.dropFirst().sorted()
        let median = timed[timed.count / 2]
        return [
            PluginCheckResult(
                criterion: id, check: "time", outcome: .info,
                detail: String(format: "%.3f ms per million weights (median of %d, 1024×1024)", median, timed.count))
        ]
    }

    // MARK: Helpers

    /// Scores `input` into a fresh NaN-filled buffer.
    static func scores(_ criterion: PluginCriterion, _ input: PluginMatrixInput) -> Result<[Float], PluginError> {
        var result = [Float](repeating: .nan, count: input.rows * input.columns)
        let outcome: Result<Void, PluginError> = input.withRawInput { raw in
            result.withUnsafeMutableBufferPointer { out in
                Result { () throws(PluginError) in try criterion.score(raw, into: out.baseAddress!) }
            }
        }
        return outcome.map { result }
    }

    private static func bitwiseEqual(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
    }
}

/// A thread-safe counter of failed calls.
private final class Mismatches: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = 0
    func add() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}
