// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "shears",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "shears", targets: ["Host"]),
        .library(name: "ShearsModelIO", targets: ["ModelIO"]),
        .library(name: "ShearsInference", targets: ["Inference"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - Executable

        /// The `shears` command-line tool and (later) the Lua recipe host.
        .executableTarget(
            name: "Host",
            dependencies: [
                "ModelIO", "Tokenization", "Inference", "BuiltinMethods", "LuaRuntime", "Kernels", "CBLAS", "CLua",
                "PluginHost",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Host"
        ),

        // MARK: - Libraries

        /// Tensors, GGUF and safetensors reading/writing, LLaMA-family model description.
        .target(name: "ModelIO", dependencies: ["Kernels", "Tokenization", "JSON"]),
        /// Byte-level BPE tokenizer (GGUF metadata or Hugging Face tokenizer.json).
        .target(name: "Tokenization", dependencies: ["JSON"]),
        /// Strict JSON parser and writer shared by the model and tokenizer readers (package access).
        .target(name: "JSON"),
        /// LLaMA forward pass, KV-cache generation, perplexity.
        .target(name: "Inference", dependencies: ["ModelIO", "Kernels", "CBLAS"]),
        /// Pruning methods (magnitude, Wanda, SparseGPT, ...).
        .target(name: "BuiltinMethods", dependencies: ["ModelIO", "Inference", "Kernels", "CBLAS"]),
        /// Loads plugin criteria (shared libraries speaking the PluginAPI ABI) and runs them as pruning steps.
        .target(name: "PluginHost", dependencies: ["PluginAPI", "BuiltinMethods", "ModelIO", "Kernels"]),
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
        .target(name: "TestSupport", dependencies: ["ModelIO", "Tokenization"], path: "Tests/TestSupport"),
        .testTarget(name: "ModelIOTests", dependencies: ["ModelIO", "TestSupport"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "ModelIO", "TestSupport"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "ModelIO", "Kernels", "TestSupport"]),
        .testTarget(name: "HostTests", dependencies: ["ModelIO", "TestSupport"]),
        .testTarget(
            name: "PluginHostTests",
            dependencies: ["PluginHost", "PluginAPI", "BuiltinMethods", "ModelIO", "Inference", "TestSupport"]
        ),
        .testTarget(name: "LuaRuntimeTests", dependencies: ["LuaRuntime", "CLua"]),
        .testTarget(
            name: "BuiltinMethodsTests",
            dependencies: ["BuiltinMethods", "Inference", "ModelIO", "Kernels", "CBLAS", "TestSupport"]
        ),
    ]
)
