// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// MPI (`mpirun -np N shears prune …`) is built in when Open MPI's development files are installed
/// (Debian's `libopenmpi-dev`, found by its pkg-config file); `SHEARS_MPI=0` leaves it out and
/// `SHEARS_MPI=1` builds it in regardless (the build then fails without Open MPI).
let withMPI: Bool = {
    if let request = Context.environment["SHEARS_MPI"] { return request != "0" }
    let directories = [
        "/usr/lib/x86_64-linux-gnu/pkgconfig", "/usr/lib/aarch64-linux-gnu/pkgconfig", "/usr/lib64/pkgconfig",
        "/usr/lib/pkgconfig", "/usr/local/lib/pkgconfig", "/usr/share/pkgconfig",
    ]
    return directories.contains { FileManager.default.fileExists(atPath: $0 + "/ompi-c.pc") }
}()

let package = Package(
    name: "shears",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "shears", targets: ["Host"]),
        .library(name: "ShearsModelIO", targets: ["ModelIO"]),
        .library(name: "ShearsInference", targets: ["Inference"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        // MARK: - Executable

        /// The `shears` command-line tool: one thin command each over the libraries (`shears run`
        /// hands recipes to `Recipes`).
        .executableTarget(
            name: "Host",
            dependencies: [
                "ModelIO", "Tokenization", "Inference", "PruningEngine", "BuiltinMethods", "LuaRuntime", "Kernels",
                "CBLAS", "CLua",
                "PluginHost", "Recipes", "Reports", "JSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Host"
        ),

        // MARK: - Libraries

        /// Tensors, GGUF and safetensors reading/writing, LLaMA-family model description.
        .target(name: "ModelIO", dependencies: ["Kernels", "Tokenization", "JSON", "SeededRandom"]),
        /// Byte-level BPE tokenizer (GGUF metadata or Hugging Face tokenizer.json).
        .target(name: "Tokenization", dependencies: ["JSON"]),
        /// Strict JSON parser and writer shared by the model and tokenizer readers (package access).
        .target(name: "JSON"),
        /// The seeded generators (SplitMix64, standard normals) behind every reproducible draw (package access).
        .target(name: "SeededRandom"),
        /// LLaMA forward pass, KV-cache generation, perplexity.
        .target(name: "Inference", dependencies: ["ModelIO", "Kernels", "CBLAS", "SeededRandom"]),
        /// The layer-wise pruning engine: the step protocol (`PruneStep`), `MatrixWork`, the engine
        /// loop (`Pruner`), calibration activations and input statistics, sparsity patterns, targets,
        /// reports and errors. It knows no particular method.
        .target(name: "PruningEngine", dependencies: ["ModelIO", "Inference", "Kernels", "CBLAS"]),
        /// The built-in pruning steps, in folders by stage (allocators, criteria, selectors, refiners,
        /// reconstructors), and the methods made of them (magnitude, Wanda, SparseGPT, RIA, OWL, DSnoT).
        .target(
            name: "BuiltinMethods",
            dependencies: [
                "PruningEngine", "ModelIO", "Inference", "Kernels", "CBLAS", "SeededRandom",
            ]),
        /// Loads plugin criteria (shared libraries speaking the PluginAPI ABI) and runs them as pruning steps.
        .target(
            name: "PluginHost",
            dependencies: [
                "PluginAPI", "PruningEngine", "BuiltinMethods", "Inference", "ModelIO", "Kernels", "SeededRandom",
            ]),
        /// The `shears` Lua module recipes use (models, calibration, pruning steps, plugins), the
        /// pruning session both the CLI and recipes run (progress, provenance), and running a recipe file.
        .target(
            name: "Recipes",
            dependencies: [
                "PruningEngine", "BuiltinMethods", "PluginHost", "LuaRuntime", "Inference", "ModelIO", "Tokenization",
                "Kernels", "Reports", "JSON",
            ]
        ),
        /// Run reports: the versioned JSON a prune writes (provenance hashes, per-layer outcome, time and
        /// memory, evaluations) and the self-contained HTML page that compares runs.
        .target(name: "Reports", dependencies: ["JSON", "PruningEngine", "Inference", "ModelIO"]),
        /// The sandboxed Lua 5.4 runtime for recipes: limits, strict globals, Swift functions and handles.
        .target(name: "LuaRuntime", dependencies: ["CLua", "CLuaShims"]),

        // MARK: - C

        /// Native SIMD kernels with run-time ISA dispatch (AVX-512 / AVX2 / baseline).
        .target(name: "Kernels"),
        /// The stable, versioned C ABI for plugin criteria (one public header).
        .target(name: "PluginAPI"),
        /// Debian's OpenBLAS (CBLAS interface plus the OpenBLAS control functions).
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        /// Debian's Lua 5.4 with a shim header for the macros Swift cannot import.
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        /// C side of the Lua runtime: error-raising trampolines, protected helpers, allocator, limit hook.
        .target(name: "CLuaShims", dependencies: ["CLua"]),

        // MARK: - Tests

        /// Fixtures shared by the test targets: tiny random models, reference data paths.
        .target(
            name: "TestSupport", dependencies: ["ModelIO", "Tokenization", "SeededRandom"], path: "Tests/TestSupport"),
        .testTarget(name: "ModelIOTests", dependencies: ["ModelIO", "TestSupport"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "ModelIO", "TestSupport"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "ModelIO", "Kernels", "TestSupport"]),
        .testTarget(name: "HostTests", dependencies: ["ModelIO", "Inference", "TestSupport"]),
        .testTarget(
            name: "PluginHostTests",
            dependencies: [
                "PluginHost", "PluginAPI", "PruningEngine", "BuiltinMethods", "ModelIO", "Inference", "TestSupport",
            ]
        ),
        .testTarget(
            name: "ReportsTests", dependencies: ["Reports", "JSON", "PruningEngine", "ModelIO", "TestSupport"]),
        .testTarget(name: "LuaRuntimeTests", dependencies: ["LuaRuntime", "CLua"]),
        .testTarget(
            name: "RecipesTests",
            dependencies: [
                "Recipes", "PruningEngine", "BuiltinMethods", "LuaRuntime", "ModelIO", "Inference", "TestSupport",
            ]
        ),
        .testTarget(
            name: "BuiltinMethodsTests",
            dependencies: [
                "PruningEngine", "BuiltinMethods", "Inference", "ModelIO", "Kernels", "CBLAS", "SeededRandom",
                "TestSupport",
            ]
        ),
    ]
)

// MARK: - MPI (optional)

if withMPI {
    package.targets += [
        /// Open MPI's C interface (Debian's libopenmpi-dev).
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        /// The few MPI collectives a distributed prune needs, with plain C types (MPI's handles are
        /// macros Swift cannot import).
        .target(name: "CMPIShims", dependencies: ["CMPI"]),
        /// The MPI ranks as the engine's `ProcessGroup`.
        .target(name: "MessagePassing", dependencies: ["CMPIShims", "PruningEngine"]),
    ]
    package.targets.first { $0.name == "Host" }!.dependencies.append("MessagePassing")
}

// MARK: - Plugin examples and fixtures

/// Plugins export one symbol: hidden visibility in C, and a linker version script for everything
/// linked in (the PluginAPI object, the Swift plugin's own symbols).
let pluginCSettings: [CSetting] = [.unsafeFlags(["-fvisibility=hidden"])]
/// Links a plugin with `Plugins/plugin-exports.map`, which keeps only `shears_plugin_get_entry` global.
let pluginLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Plugins/plugin-exports.map"])
]

/// The deliberately broken (or instrumented) fixture plugins the plugin-host tests load.
let fixturePlugins = [
    "BadMajor", "SmallEntry", "ScoreError", "NaNScores", "InitFails", "Params", "SharedScratch",
    "IgnoresStrides", "Select", "Absent",
]

package.products += [
    .library(name: "ShearsWandaPlugin", type: .dynamic, targets: ["WandaPlugin"]),
    .library(name: "ShearsOBSPlugin", type: .dynamic, targets: ["OBSPlugin"]),
    .library(name: "ShearsPowerPlugin", type: .dynamic, targets: ["PowerPlugin"]),
    .library(name: "ShearsUnitsPlugin", type: .dynamic, targets: ["UnitsPlugin"]),
    .library(name: "ShearsFixtureWandaABI10", type: .dynamic, targets: ["FixtureWandaABI10"]),
]
package.products += fixturePlugins.map {
    .library(name: "ShearsFixture\($0)", type: .dynamic, targets: ["Fixture\($0)"])
}
package.products += [.library(name: "ShearsFixtureNoEntry", type: .dynamic, targets: ["FixtureNoEntry"])]

package.targets += [
    /// Wanda `|W_ij| · sqrt(scaler_row_j)` as a C plugin, bit-identical to the built-in criterion.
    .target(
        name: "WandaPlugin", dependencies: ["PluginAPI"], path: "Plugins/wanda-c",
        cSettings: pluginCSettings, linkerSettings: pluginLinkerSettings
    ),
    /// The Optimal Brain Surgeon saliency `w_ij² / [H⁻¹]_jj` (Hassibi & Stork 1993) as a C plugin.
    .target(
        name: "OBSPlugin", dependencies: ["PluginAPI"], path: "Plugins/obs-c",
        cSettings: pluginCSettings, linkerSettings: pluginLinkerSettings
    ),
    /// `|W_ij| · scaler_row_j^(alpha/2)` as a Swift plugin (`@_cdecl` entry): the ABI is language-neutral.
    .target(
        name: "PowerPlugin", dependencies: ["PluginAPI"], path: "Plugins/power-swift",
        linkerSettings: pluginLinkerSettings
    ),
    /// Unit criteria (ABI 1.1): Wanda-sp and the gate Taylor score of whole heads, KV groups, FFN channels.
    .target(
        name: "UnitsPlugin", dependencies: ["PluginAPI"], path: "Plugins/units-c",
        cSettings: pluginCSettings, linkerSettings: pluginLinkerSettings
    ),
    /// The Wanda example compiled against the frozen ABI 1.0 header: a plugin built before 1.1.
    .target(
        name: "FixtureWandaABI10", path: "Tests/Fixtures/Plugins/WandaABI10",
        cSettings: [
            .unsafeFlags(["-fvisibility=hidden", "-I\(Context.packageDirectory)/Plugins/wanda-c/include"])
        ],
        linkerSettings: pluginLinkerSettings
    ),
    /// Shared code of the fixture plugins (instance plumbing, strided magnitude scores, messages).
    .target(
        name: "FixtureSupport", dependencies: ["PluginAPI"], path: "Tests/Fixtures/Plugins/Support",
        cSettings: pluginCSettings
    ),
    /// A library that exports no plugin entry at all.
    .target(name: "FixtureNoEntry", path: "Tests/Fixtures/Plugins/NoEntry", cSettings: pluginCSettings),
]
package.targets += fixturePlugins.map {
    .target(
        name: "Fixture\($0)", dependencies: ["FixtureSupport"], path: "Tests/Fixtures/Plugins/\($0)",
        cSettings: pluginCSettings, linkerSettings: pluginLinkerSettings
    )
}
