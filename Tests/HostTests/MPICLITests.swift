import Foundation
import ModelIO
import TestSupport
import Testing

/// `mpirun -np 2 shears prune` on SmolLM2 (Open MPI, built in when libopenmpi-dev is installed,
/// which `Scripts/install-deps.sh --test` does): two ranks, each running its shard of the windows,
/// write the bytes of a single-process prune of the same windows for the methods whose statistics
/// are per-column sums (Wanda, OWL + DSnoT, RIA); SparseGPT's Gram matrices are summed in rank
/// order, which changes only their rounding; what cannot be split is refused with exit 2.
@Suite(
    "prunes across MPI ranks", .enabled(if: MPILaunch.available && ReferenceData.hasModel && ReferenceData.hasData),
    .serialized)
struct MPICLITests {
    static let ids = ReferenceData.file("wikitext2-valid.smollm2-ids.i32").path
    /// One BLAS thread per process: two ranks share the two cores, and one process's figures are
    /// then comparable.
    static let environment = ["OPENBLAS_NUM_THREADS": "1"]

    /// `prune SmolLM2 <arguments> --calib-ids … --out <out> --no-journal --type f32` in one process
    /// or across `ranks`; returns the outcome.
    static func prune(_ arguments: [String], ranks: Int?, out: String) throws -> ProcessOutcome {
        let full =
            ["prune", ReferenceData.modelPath] + arguments + [
                "--calib-ids", ids, "--seqlen", "128", "--out", out, "--no-journal", "--type", "f32",
            ]
        guard let ranks else { return try CommandRunner.run(full, environment: environment) }
        return try MPILaunch.run(ranks: ranks, full)
    }

    @Test(
        "2 ranks write the single-process bytes (Wanda; OWL + Wanda + DSnoT with 5 windows, streamed; RIA 2:4)",
        arguments: [
            ["--method", "wanda", "--sparsity", "0.5", "--samples", "4"],
            ["--method", "wanda", "--sparsity", "0.5", "--owl", "--dsnot", "--samples", "5", "--stream"],
            ["--method", "ria", "--pattern", "2:4", "--samples", "4"],
        ])
    func sameBytes(arguments: [String]) throws {
        let directory = try TemporaryDirectory()
        let single = try Self.prune(arguments, ranks: nil, out: directory.path("single.gguf"))
        #expect(single.status == 0, "\(single.stderr)")
        let distributed = try Self.prune(arguments, ranks: 2, out: directory.path("ranks.gguf"))
        #expect(distributed.status == 0, "\(distributed.stderr)")
        #expect(distributed.stdout.contains("on 2 MPI ranks"), "\(distributed.stdout)")
        let expected = try Data(contentsOf: URL(fileURLWithPath: directory.path("single.gguf")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.path("ranks.gguf"))) == expected)
    }

    @Test("SparseGPT across 2 ranks: layer 0 (same inputs, Gram summed in rank order) within rounding")
    func sparseGPT() throws {
        let directory = try TemporaryDirectory()
        let arguments = ["--method", "sparsegpt", "--sparsity", "0.5", "--samples", "4", "--target", "blk.0.*"]
        let single = try Self.prune(arguments, ranks: nil, out: directory.path("single.gguf"))
        #expect(single.status == 0, "\(single.stderr)")
        let distributed = try Self.prune(arguments, ranks: 2, out: directory.path("ranks.gguf"))
        #expect(distributed.status == 0, "\(distributed.stderr)")
        let one = try ModelLoader.load(path: directory.path("single.gguf"))
        let two = try ModelLoader.load(path: directory.path("ranks.gguf"))
        for tensor in one.tensors where tensor.name.hasPrefix("blk.0.") && tensor.shape.count == 2 {
            let a = tensor.storage.buffer, b = two.tensor(tensor.name)!.storage.buffer
            var difference = 0.0, norm = 0.0, flipped = 0
            for i in a.indices {
                difference += Double(a[i] - b[i]) * Double(a[i] - b[i])
                norm += Double(a[i]) * Double(a[i])
                if (a[i] == 0) != (b[i] == 0) { flipped += 1 }
            }
            // SparseGPT's sweep turns rounding in H into a few flipped weights and their updates
            // (the same happens with another BLAS thread count).
            #expect((difference / norm).squareRoot() < 0.02, "\(tensor.name): relative error")
            #expect(Double(flipped) < 1e-3 * Double(a.count), "\(tensor.name): \(flipped) mask entries differ")
        }
    }

    @Test("refused across ranks with exit 2: structured methods, --resume, other commands, too few windows")
    func refusals() throws {
        let directory = try TemporaryDirectory()
        let flap = try Self.prune(
            ["--method", "flap", "--params", "0.2", "--samples", "4"], ranks: 2, out: directory.path("flap.gguf"))
        #expect(flap.status == 2)
        #expect(flap.stderr.contains("flap cannot run across 2 MPI ranks"), "\(flap.stderr)")
        let resume = try Self.prune(
            ["--method", "wanda", "--sparsity", "0.5", "--samples", "4", "--resume"], ranks: 2,
            out: directory.path("resume.gguf"))
        #expect(resume.status == 2)
        let few = try Self.prune(
            ["--method", "wanda", "--sparsity", "0.5", "--samples", "1"], ranks: 2, out: directory.path("few.gguf"))
        #expect(few.status == 2)
        #expect(few.stderr.contains("2 MPI ranks need at least 2 calibration windows"), "\(few.stderr)")
        let eval = try MPILaunch.run(
            ranks: 2,
            ["eval", ReferenceData.modelPath, "--ids", ReferenceData.file("wikitext2-test.smollm2-ids.i32").path])
        #expect(eval.status == 2)
        #expect(eval.stderr.contains("only shears prune runs across MPI ranks"), "\(eval.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path("")).isEmpty)
    }

    @Test("ranks given different inputs are refused before any work, naming what differs")
    func mismatchedRanks() throws {
        let directory = try TemporaryDirectory()
        func rank(_ seed: String) -> [String] {
            [
                "prune", ReferenceData.modelPath, "--method", "wanda", "--sparsity", "0.5", "--samples", "4",
                "--seqlen", "128", "--calib-ids", Self.ids, "--seed", seed, "--out", directory.path("out.gguf"),
                "--no-journal",
            ]
        }
        let outcome = try MPILaunch.run(programs: [rank("0"), rank("1")])
        #expect(outcome.status == 2)
        #expect(
            outcome.stderr.contains("rank 1's command line, calibration windows differ from rank 0's"),
            "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.path("out.gguf")))
    }
}

/// Under CI the MPI checks must run: the test dependencies include Open MPI.
@Suite("MPI is available under CI", .enabled(if: ReferenceData.required))
struct MPIRequiredTests {
    @Test("mpirun is installed and shears is built with MPI")
    func available() {
        #expect(MPILaunch.mpirun != nil, "mpirun not found: Scripts/install-deps.sh --test installs openmpi-bin")
        #expect(MPILaunch.builtIn, "shears --version does not list MPI: install libopenmpi-dev and rebuild")
    }
}

/// Launching `shears` under Open MPI's `mpirun` for the tests.
enum MPILaunch {
    /// `mpirun`, when installed.
    static let mpirun: URL? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].map(URL.init(fileURLWithPath:)).first {
        FileManager.default.isExecutableFile(atPath: $0.path)
    }

    /// Whether the `shears` under test was built with MPI (`--version` lists it).
    static let builtIn: Bool = {
        guard let outcome = try? CommandRunner.run(["--version"]) else { return false }
        return outcome.stdout.contains(", MPI)")
    }()

    /// Whether the MPI tests can run.
    static var available: Bool { mpirun != nil && builtIn }

    /// Options for this machine: root is allowed (containers), and two ranks may share the cores.
    static let options = ["--allow-run-as-root", "--oversubscribe", "-x", "OPENBLAS_NUM_THREADS=1"]

    /// `mpirun -np ranks shears arguments…`.
    static func run(ranks: Int, _ arguments: [String]) throws -> ProcessOutcome {
        try ChildProcess.run(mpirun!, options + ["-np", "\(ranks)", CommandRunner.binary.path] + arguments)
    }

    /// One rank per program (`mpirun -np 1 shears a… : -np 1 shears b…`).
    static func run(programs: [[String]]) throws -> ProcessOutcome {
        let parts = programs.map { ["-np", "1", CommandRunner.binary.path] + $0 }
        return try ChildProcess.run(mpirun!, options + Array(parts.joined(separator: [":"])))
    }
}
