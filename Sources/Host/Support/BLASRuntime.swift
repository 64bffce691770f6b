import CBLAS
import Foundation
import Kernels

/// Makes sure OpenBLAS runs its fastest kernel for this CPU.
///
/// OpenBLAS picks its kernel ("core") when the library loads, from the CPU or from
/// `OPENBLAS_CORETYPE`. Debian's 0.3.21 falls back to a slow generic kernel on CPUs it does not
/// recognise, and environments sometimes pin an AVX2 kernel on AVX-512 machines: both cost 2-4x in
/// every matrix product. Since the choice is made before `main`, the fix is to re-execute the
/// binary once with `OPENBLAS_CORETYPE` set. `SHEARS_BLAS_CORETYPE=keep` disables this;
/// `SHEARS_BLAS_CORETYPE=<name>` forces a core.
enum BLASRuntime {
    /// OpenBLAS cores that use AVX-512.
    private static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]
    /// OpenBLAS cores that use at least AVX2 + FMA.
    private static let avx2Cores: Set<String> = avx512Cores.union(["haswell", "zen", "skylake"])
    /// Marks the re-executed process so that it never loops.
    private static let marker = "SHEARS_BLAS_REEXEC"

    /// The active OpenBLAS core, e.g. `SkylakeX`.
    static var coreName: String { String(cString: openblas_get_corename()) }

    /// `OpenBLAS <core>, <n> threads, CPU <isa>`.
    static var summary: String {
        "OpenBLAS \(coreName), \(openblas_get_num_threads()) threads, CPU \(String(cString: shears_isa_name(shears_cpu_isa())))"
    }

    /// The core this CPU should run, or nil when the active one is already right.
    private static var preferredCore: String? {
        let environment = ProcessInfo.processInfo.environment
        let request = environment["SHEARS_BLAS_CORETYPE"]
        if request == "keep" { return nil }
        let active = coreName.lowercased()
        if let request { return request.lowercased() == active ? nil : request }
        switch shears_cpu_isa() {
        case SHEARS_ISA_AVX512: return avx512Cores.contains(active) ? nil : "SKYLAKEX"
        case SHEARS_ISA_AVX2: return avx2Cores.contains(active) ? nil : "HASWELL"
        default: return nil
        }
    }

    /// Re-executes this process with the preferred core if the active one is slower; returns
    /// normally when nothing needs to change (or re-execution is impossible).
    static func ensureFastKernel() {
        let environment = ProcessInfo.processInfo.environment
        guard environment[marker] == nil, let core = preferredCore else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(marker, coreName, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv only returns on failure: carry on with the slower kernel.
        unsetenv(marker)
    }
}
