import Foundation
import Inference
import ModelIO
import TestSupport

/// The real-model acceptance set-up: SmolLM2, the 64×512 WikiText-2 calibration windows, the
/// WikiText-2 test ids.
enum SmolLM2Fixtures {
    /// Set `SHEARS_FULL_EVAL=1` to evaluate on all 40 acceptance chunks instead of the CI subset.
    static var fullEvaluation: Bool { ProcessInfo.processInfo.environment["SHEARS_FULL_EVAL"] == "1" }
    /// Chunks of 2048 evaluated: 40 (acceptance) or 4 (CI, compared with figures measured once).
    static var evaluationChunks: Int { fullEvaluation ? 40 : 4 }

    /// A fresh copy of the model (pruning changes it).
    static func model() throws -> Model { try ModelLoader.load(path: ReferenceData.modelPath) }

    /// The 64 windows of 512 ids at the reference offsets into the validation ids.
    static func calibration() throws -> [[Int32]] {
        let ids = try ReferenceData.int32s("wikitext2-valid.smollm2-ids.i32")
        let text = try String(
            contentsOf: ReferenceData.file("wikitext2-valid.calib-64x512-seed0.offsets"), encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).map { Array(ids[Int($0)!..<Int($0)! + 512]) }
    }

    /// Perplexity on the first `evaluationChunks` chunks of the test ids at seqlen 2048 (a full
    /// evaluation also prints the 4-chunk figure the CI subset compares with).
    static func perplexity(_ model: Model) throws -> Double {
        let ids = try ReferenceData.int32s("wikitext2-test.smollm2-ids.i32")
        let result = try PerplexityEvaluator(model: model).evaluate(
            tokens: ids, seqlen: 2048, maxChunks: evaluationChunks)
        if fullEvaluation {
            let subset = result.chunkMeanNLLs.prefix(4)
            print("4-chunk perplexity \(exp(subset.reduce(0, +) / Double(subset.count)))")
        }
        return result.perplexity
    }
}
