import Foundation
import ModelIO
import TestSupport
import Testing

/// `shears prune` without `--type` on the Q4_1 SmolLM2: a Q4_0 file that keeps every zero and is
/// smaller than its input.
@Suite("quantized prune outputs", .enabled(if: ReferenceData.hasModel))
struct QuantizedOutputCLITests {
    @Test("a Q4_1 input is pruned into Q4_0 by default: no larger, zeros exact, surviving sparsity reported")
    func defaultFollowsInput() throws {
        let directory = try TemporaryDirectory()
        let out = directory.path("magnitude50.gguf")
        let outcome = try CommandRunner.run([
            "prune", ReferenceData.modelPath, "--method", "magnitude", "--sparsity", "0.5", "--out", out,
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("written as q4_0: linear sparsity"), "\(outcome.stdout)")
        let file = try GGUFFile(path: out)
        #expect(file.metadata["general.file_type"] == .uint32(2))
        #expect(file.tensors.first { $0.name == "blk.0.attn_q.weight" }?.type == .q4_0)
        let size = { (path: String) in try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int }
        #expect(try size(out) <= size(ReferenceData.modelPath))
        let model = try ModelLoader.load(path: out)
        var zeros = 0, total = 0
        for tensor in model.tensors where tensor.shape.count == 2 && tensor.name.hasPrefix("blk.") {
            zeros += tensor.storage.buffer.filter { $0 == 0 }.count
            total += tensor.count
        }
        let line = outcome.stdout.split(separator: "\n").first { $0.contains("written as q4_0") }!
        let reported = try #require(Double(line.split(separator: " ")[5]))
        #expect(abs(reported - Double(zeros) / Double(total)) < 1e-4, "\(line)")
        #expect(Double(zeros) / Double(total) >= 0.5)
    }
}
