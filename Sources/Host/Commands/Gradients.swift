import ArgumentParser
import Foundation
import Inference
import ModelIO
import Recipes

/// `shears gradients MODEL --calib FILE --out GRADS.safetensors`: the loss gradient of every weight.
struct Gradients: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the gradient of the mean next-token loss with respect to every weight.",
        discussion: """
            L is the mean negative log-likelihood over every predicted token of every calibration \
            window (each window an independent sequence from position 0). The output holds ∂L/∂W \
            as F32, one tensor per weight under the model's own GGUF names and in its GGUF layout \
            (q/k rows as GGUF stores them; a tied output projection's gradient is part of \
            token_embd.weight). --fisher-out also writes the diagonal Fisher estimate, the mean over \
            windows of each window's squared gradient (LLM-Pruner's acc_grad), under the same names. \
            The reverse pass keeps each block's input and recomputes its activations, except for \
            the last layers whose full records fit beside the checkpoints within the model's F32 \
            size (selective checkpointing); --order \
            chooses between holding every window's block inputs (layers: the gradient is streamed \
            out layer by layer) and holding whole-model accumulators (windows: one window at a \
            time); by default the one needing less memory. --keep-activations keeps every layer's \
            activations instead of recomputing them: faster, for about eight times the checkpoint \
            memory. A request whose estimate exceeds \
            --max-memory (default: physical memory less the model) is refused before any work.
            """)

    @OptionGroup var source: ModelArgument

    @OptionGroup var calibration: CalibrationOptions

    @Option(help: "The output .safetensors file (must not exist).", completion: .file())
    var out: String

    @Option(help: "Also write the Fisher estimate to this .safetensors file.", completion: .file())
    var fisherOut: String?

    @Option(help: "The order of work: layers or windows (default: the one needing less memory).")
    var order: WeightGradientOrder?

    @Flag(help: "Keep every layer's activations from the forward instead of recomputing them (faster, ~8x the memory).")
    var keepActivations = false

    @Option(help: "Refuse a request estimated to need more memory than this beyond the model (e.g. 8G, 512M).")
    var maxMemory: String?

    func validate() throws {
        guard calibration.isGiven else {
            throw ValidationError("gradients need calibration data: --calib FILE, --calib-ids FILE or --calib-generate")
        }
        for path in [out] + (fisherOut.map { [$0] } ?? []) where !path.hasSuffix(".safetensors") {
            throw ValidationError("\(path): the output must be a .safetensors file")
        }
        if let fisherOut, URL(fileURLWithPath: fisherOut).standardized == URL(fileURLWithPath: out).standardized {
            throw ValidationError("--fisher-out must differ from --out")
        }
        if let maxMemory, MemoryBudget.parse(maxMemory) == nil {
            throw ValidationError("--max-memory must be a size such as 8G, 512M or 1048576, got '\(maxMemory)'")
        }
    }

    func run() throws {
        for path in [out] + (fisherOut.map { [$0] } ?? []) {
            if FileManager.default.fileExists(atPath: path) {
                throw CommandFailure.badInput("\(path): already exists; refusing to overwrite it")
            }
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard FileManager.default.isWritableFile(atPath: directory) else {
                throw CommandFailure.badInput(
                    "\(path): the output directory \(directory) does not exist or is not writable")
            }
        }
        let scope = CancellationScope()
        let model = try source.load()
        let set = try calibration.makeSet(for: model, cancellation: scope)!
        let gradients = ModelGradients(model: model, cancellation: scope.cancellation)
        let order =
            order
            ?? gradients.cheapestOrder(
                windows: set.windows, fisher: fisherOut != nil, keepActivations: keepActivations)
        let limit = maxMemory.flatMap(MemoryBudget.parse) ?? MemoryBudget.available(beside: model)
        let layout = gradients.tensorOrder()
        var writers: [SafetensorsStreamWriter] = []
        var clock = Stopwatch()
        let loss: Double
        do {
            loss = try gradients.weights(
                windows: set.windows, fisher: fisherOut != nil, order: order, keepActivations: keepActivations,
                memoryLimit: limit,
                onLoss: { loss in
                    let metadata = [
                        "shears.version": ShearsVersion.number, "shears.model": source.model,
                        "shears.calibration": set.source, "shears.windows": "\(set.windows.count)",
                        "shears.tokens": "\(set.windows.reduce(0) { $0 + $1.count })",
                        "shears.loss": String(format: "%.9g", loss),
                    ]
                    writers.append(try SafetensorsStreamWriter(path: out, layout: layout, metadata: metadata))
                    if let fisherOut {
                        var fisher = metadata
                        fisher["shears.content"] =
                            "diagonal Fisher estimate: mean over windows of (d window-mean NLL / dW)^2"
                        writers.append(try SafetensorsStreamWriter(path: fisherOut, layout: layout, metadata: fisher))
                    }
                },
                consume: { tensor in
                    try writers[0].append(tensor.name, UnsafeBufferPointer(tensor.gradient.buffer))
                    if writers.count > 1, let squared = tensor.squared {
                        try writers[1].append(tensor.name, UnsafeBufferPointer(squared.buffer))
                    }
                })
        } catch let error as InferenceError {
            if let failure = scope.failure { throw failure }
            throw CommandFailure.badInput(error.message)
        }
        for writer in writers { try writer.commit() }
        print(
            String(
                format: "gradients of the mean NLL %.6f over %d windows (%@, order %@) in %.1f s -> %@%@", loss,
                set.windows.count, set.source, order.rawValue, clock.lap(), out,
                fisherOut.map { ", Fisher -> \($0)" } ?? ""))
    }
}

extension WeightGradientOrder: ExpressibleByArgument {}
