import Foundation
import PruningEngine
import Recipes
import Reports

#if canImport(MessagePassing)
    import MessagePassing
#endif

/// The MPI job this process was launched in (`mpirun -np N shears prune …`), if any.
///
/// Only `shears prune` runs across ranks. MPI is joined before the command runs and finalised
/// after it; when a rank fails, it prints its error and ends the whole job (the other ranks would
/// otherwise wait in a collective for ever).
enum ParallelRun {
    /// Whether this binary was built with MPI (Open MPI's development files present at build time).
    #if canImport(MessagePassing)
        static let available = true
    #else
        static let available = false
    #endif

    /// The ranks a launcher started, from its environment (Open MPI's `OMPI_COMM_WORLD_SIZE`, or
    /// `PMI_SIZE`/`PMIX_SIZE` of other launchers); nil when no launcher started this process.
    static var launchedRanks: Int? {
        let environment = ProcessInfo.processInfo.environment
        for key in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"] {
            if let value = environment[key], let ranks = Int(value) { return ranks }
        }
        return nil
    }

    #if canImport(MessagePassing)
        /// The joined group (nil: not launched by mpirun).
        nonisolated(unsafe) private static var joined: MPIProcessGroup?
    #endif

    /// The ranks of this run when there is more than one, else nil.
    static var group: (any ProcessGroup)? {
        #if canImport(MessagePassing)
            if let joined, joined.size > 1 { return joined }
        #endif
        return nil
    }

    /// Whether this process writes outputs and prints results: rank 0, or the only process.
    static var leads: Bool { (group?.rank ?? 0) == 0 }

    /// Joins the MPI job when a launcher started this process for `command`.
    ///
    /// - Throws: `CommandFailure` (bad input) when several ranks were started for a command other
    ///   than `prune`, or this binary was built without MPI.
    static func join(for command: String) throws(CommandFailure) {
        guard let ranks = launchedRanks else { return }
        if ranks > 1, command != "prune" {
            throw .badInput(
                "only shears prune runs across MPI ranks; run shears \(command) in one process (without mpirun)")
        }
        #if canImport(MessagePassing)
            do { joined = try MPIProcessGroup.join() } catch { throw .badInput("MPI: \(error)") }
        #else
            if ranks > 1 {
                throw .badInput(
                    "this shears was built without MPI: install Open MPI's development files "
                        + "(apt-get install libopenmpi-dev) and rebuild, or run without mpirun")
            }
        #endif
    }

    /// Finalises MPI after a successful command.
    static func finish() {
        #if canImport(MessagePassing)
            joined?.finish()
        #endif
    }

    /// Ends the process with `status` after `message` was printed; with several ranks, ends every
    /// rank of the job.
    static func exit(status: Int32) -> Never {
        #if canImport(MessagePassing)
            if let joined, joined.size > 1 { joined.abort(status: status) }
        #endif
        Foundation.exit(status)
    }

    /// The prefix of this rank's error messages (`shears (rank 1 of 2)`, or `shears` alone).
    static var errorPrefix: String { group.map { "shears (rank \($0.rank) of \($0.size))" } ?? "shears" }

    /// Refuses to go on unless every rank runs the same build, command line, model and calibration
    /// windows (compared by SHA-256; a model file by its size, its first 16 MiB, where the header
    /// and tensor index are, and 64 blocks of 64 KiB spread over the rest).
    ///
    /// - Throws: `CommandFailure` (bad input) naming the ranks and what differs.
    static func checkSameInputs(modelPath: String, windows: [[Int32]]) throws(CommandFailure) {
        guard let group else { return }
        // Each digest is 64 hex digits, so that every rank contributes the same number of bytes.
        let unreadable = String(repeating: "-", count: 64)
        let parts: [(what: String, digest: String)] = [
            ("shears executable", SHA256.hex(ofFile: "/proc/self/exe") ?? unreadable),
            ("command line", SHA256.hex(of: CommandLine.arguments.joined(separator: "\u{0}").utf8)),
            ("model", SHA256.hex(ofModel: modelPath, fileDigest: sampledDigest(ofFile:))),
            ("calibration windows", RunReport.CalibrationSummary(source: "", windows: windows).sha256),
        ].map { ($0.0, $0.1.isEmpty ? unreadable : $0.1) }
        let all = group.gather(bytes: Array(parts.map(\.digest).joined().utf8))
        let rankZero = all[0]
        var differences: [String] = []
        for (rank, theirs) in all.enumerated() where theirs != rankZero {
            let what = parts.indices.filter { index in
                theirs[(index * 64)..<((index + 1) * 64)] != rankZero[(index * 64)..<((index + 1) * 64)]
            }.map { parts[$0].what }
            differences.append("rank \(rank)'s \(what.joined(separator: ", "))")
        }
        guard differences.isEmpty else {
            throw .badInput(
                "the MPI ranks do not run the same prune: \(differences.joined(separator: "; ")) differ from rank 0's; "
                    + "give every rank the same shears build, arguments, model file and calibration data")
        }
    }

    /// SHA-256 of a file's size, first 16 MiB and 64 blocks of 64 KiB spread evenly over the rest
    /// (reading all of a 140 GB model would take minutes); nil when it cannot be read.
    private static func sampledDigest(ofFile path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var sha = SHA256()
        let size = (try? handle.seekToEnd()) ?? 0
        withUnsafeBytes(of: size) { sha.update($0) }
        let head: UInt64 = 16 << 20, block: UInt64 = 64 << 10
        try? handle.seek(toOffset: 0)
        if let data = try? handle.read(upToCount: Int(min(size, head))) { sha.update(data) }
        if size > head + block {
            for index in 0..<64 {
                try? handle.seek(toOffset: head + (size - head - block) / 63 * UInt64(index))
                if let data = try? handle.read(upToCount: Int(block)) { sha.update(data) }
            }
        }
        return sha.finalizeHex()
    }
}
