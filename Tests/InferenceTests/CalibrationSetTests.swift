import Inference
import TestSupport
import Testing

/// Calibration windows: CPython-exact random offsets, explicit offsets, errors.
@Suite("Calibration sets")
struct CalibrationSetTests {
    @Test("PythonRandom reproduces CPython's random.seed(0); randint(...) sequence")
    func cpythonSequence() {
        // random.seed(0); [random.randint(0, 273868 - 512 - 1) for _ in range(3)] in CPython 3.11
        var random = PythonRandom(seed: 0)
        #expect((0..<3).map { _ in random.integer(in: 0...(273_868 - 512 - 1)) } == [201_979, 220_500, 21_225])
        // random.seed(42); random.getrandbits(32)
        var other = PythonRandom(seed: 42)
        #expect(other.bits(32) == 2_746_317_213)
    }

    @Test("random windows equal the reference runs' 64 x 512 windows", .enabled(if: ReferenceData.hasData))
    func referenceWindows() throws {
        let ids = try ReferenceData.int32s("wikitext2-valid.smollm2-ids.i32")
        let text = try String(
            contentsOf: ReferenceData.file("wikitext2-valid.calib-64x512-seed0.offsets"), encoding: .utf8)
        let offsets = text.split(separator: "\n").compactMap { Int($0) }
        #expect(offsets.count == 64)
        let drawn = try CalibrationSet.random(from: ids, samples: 64, seqlen: 512, seed: 0, source: "valid")
        let given = try CalibrationSet.windows(from: ids, offsets: offsets, seqlen: 512, source: "valid")
        #expect(drawn.windows == given.windows)
    }

    @Test("offsets out of range and empty sets are refused")
    func errors() throws {
        let tokens = [Int32](0..<100)
        #expect(throws: InferenceError.self) {
            try CalibrationSet.windows(from: tokens, offsets: [95], seqlen: 10, source: "t")
        }
        #expect(throws: InferenceError.self) {
            try CalibrationSet.windows(from: tokens, offsets: [-1], seqlen: 10, source: "t")
        }
        #expect(throws: InferenceError.self) {
            try CalibrationSet.random(from: tokens, samples: 2, seqlen: 99, seed: 0, source: "t")
        }
        #expect(throws: InferenceError.self) { try CalibrationSet(windows: [], source: "t") }
        let set = try CalibrationSet.windows(from: tokens, offsets: [0, 90], seqlen: 10, source: "t")
        #expect(set.windows[1] == Array(90..<100) && set.tokenCount == 20)
    }

    @Test("self-generated windows are reproducible for a seed and differ across seeds")
    func generated() throws {
        let model = try TinyModel.make()
        let a = try CalibrationSet.generated(by: model, samples: 2, seqlen: 12, seed: 3, temperature: 1)
        let b = try CalibrationSet.generated(by: model, samples: 2, seqlen: 12, seed: 3, temperature: 1)
        let c = try CalibrationSet.generated(by: model, samples: 2, seqlen: 12, seed: 4, temperature: 1)
        #expect(a == b && a != c)
        #expect(a.windows.allSatisfy { $0.count == 12 })
    }
}
