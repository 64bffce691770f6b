import Inference
import Kernels
import ModelIO

/// The calibration windows' hidden states between layers: `current` holds every window's input
/// to the layer being pruned (replaced in place by the pruned layer's output), `dense` the dense
/// layer's output for the error report. Two buffers of tokens × hidden Float32, in memory or, when
/// they would not fit the prune's memory budget, in a mapped scratch file whose pages each window
/// lets go once it has run (`spilled`).
final class CalibrationActivations {
    /// Total tokens over all windows.
    let tokens: Int
    /// Length of the longest window.
    let longest: Int
    /// Seconds spent embedding the windows.
    let captureSeconds: Double

    private let model: Model
    private let cancellation: Cancellation?
    private let hidden: Int
    private let windows: [(offset: Int, rows: Int)]
    /// The number of the first window among all calibration windows (a distributed prune's shard
    /// starts past 0), for messages.
    private let firstWindow: Int
    private var current: TensorStorage
    private var dense: TensorStorage

    /// Bytes of the two buffers for `tokens` tokens of width `hidden`.
    static func bytes(tokens: Int, hidden: Int) -> Int { 2 * tokens * hidden * MemoryLayout<Float>.stride }

    /// Embeds `windows` (the decoder's input), the buffers in a scratch file in `scratchDirectory`
    /// when one is given; `firstWindow` numbers them in messages.
    ///
    /// - Throws: `PruneError` when there are no windows, one is empty, an id is outside the
    ///   vocabulary, or the scratch file cannot be made.
    init(
        model: Model, windows ids: [[Int32]], firstWindow: Int = 0, cancellation: Cancellation?,
        scratchDirectory: String? = nil
    ) throws(PruneError) {
        var clock = Stopwatch()
        guard !ids.isEmpty else { throw PruneError("calibration: no token windows given, but the steps need data") }
        let config = model.config
        var windows: [(offset: Int, rows: Int)] = []
        var total = 0
        for (index, window) in ids.enumerated() {
            guard !window.isEmpty else { throw PruneError("calibration: window \(firstWindow + index) is empty") }
            if let bad = window.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
                throw PruneError(
                    "calibration: window \(firstWindow + index) has id \(bad) outside the vocabulary 0..<\(config.vocabSize)"
                )
            }
            windows.append((total, window.count))
            total += window.count
        }
        self.model = model
        self.cancellation = cancellation
        hidden = config.hiddenSize
        self.windows = windows
        self.firstWindow = firstWindow
        tokens = total
        longest = windows.map(\.rows).max()!
        if let scratchDirectory {
            do {
                current = try TensorStorage(zeros: total * config.hiddenSize, scratchDirectory: scratchDirectory)
                dense = try TensorStorage(zeros: total * config.hiddenSize, scratchDirectory: scratchDirectory)
            } catch {
                throw PruneError("calibration activations: \(error)")
            }
        } else {
            current = TensorStorage(zeros: total * hidden)
            dense = TensorStorage(zeros: total * hidden)
        }
        // A streamed model's rows are decoded from the file, never the whole table.
        let weights = ModelWeights(model)
        let out = current.buffer.baseAddress!
        for (window, (offset, _)) in zip(ids, windows) { weights.embed(window, into: out + offset * hidden) }
        captureSeconds = clock.lap()
        current.releasePages(0..<current.count)
    }

    /// Whether the buffers are a mapped scratch file.
    var spilled: Bool { current.isScratchFile }

    /// Calls `body` with every window's current hidden states (tokens × hidden, window after window).
    func withCurrent<E: Error>(_ body: (UnsafeBufferPointer<Float>) throws(E) -> Void) throws(E) {
        defer { current.releasePages(0..<current.count) }
        try body(UnsafeBufferPointer(current.buffer))
    }

    /// Lets the scratch file's pages of window `index` go from the resident set (they are kept in
    /// the file); nothing for buffers in memory.
    private func release(window index: Int) {
        let range = (windows[index].offset * hidden)..<((windows[index].offset + windows[index].rows) * hidden)
        current.releasePages(range)
        dense.releasePages(range)
    }

    /// Replaces every window's hidden states by `values` (a journal's checkpoint).
    ///
    /// - Throws: `PruneError` when `values` has another size than tokens × hidden.
    func restore(_ values: [Float]) throws(PruneError) {
        guard values.count == tokens * hidden else {
            throw PruneError(
                "resume: the journal holds \(values.count) activation values, this run's calibration needs \(tokens) × \(hidden)"
            )
        }
        values.withUnsafeBufferPointer { current.buffer.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
    }

    /// Replaces every window's hidden states by layer `layer`'s output.
    func forwardInPlace(_ forward: DecoderLayerForward, layer: Int) throws(PruneError) {
        let states = current.buffer.baseAddress!
        for (index, window) in windows.enumerated() {
            let pointer = states + window.offset * hidden
            try run(forward, layer, pointer, window.rows, pointer, index, nil)
            try checkOutput(pointer, window.rows, layer, index)
        }
    }

    /// Replaces every window's hidden states by layer `layer`'s output, showing `observe` each
    /// window's linear inputs (window index, site, `rows × width` values valid during the call).
    func forwardInPlace(
        _ forward: DecoderLayerForward, layer: Int,
        observe: (_ window: Int, LinearInputSite, UnsafeBufferPointer<Float>) -> Void
    ) throws(PruneError) {
        let states = current.buffer.baseAddress!
        try withoutActuallyEscaping(observe) { (observe) throws(PruneError) in
            for (index, window) in windows.enumerated() {
                let pointer = states + window.offset * hidden
                try run(forward, layer, pointer, window.rows, pointer, index) { site, values in
                    observe(index, site, values)
                }
                try checkOutput(pointer, window.rows, layer, index)
            }
        }
    }

    /// Runs the dense layer into `dense`, feeding its linear inputs to `statistics`; returns the
    /// seconds spent accumulating them.
    func forwardDense(
        _ forward: DecoderLayerForward, layer: Int, statistics: [LinearInputSite: InputStatistics]
    ) throws(PruneError) -> Double {
        var statisticsSeconds = 0.0
        var nonFinite: LinearInputSite?
        for (index, window) in windows.enumerated() {
            try run(
                forward, layer, current.buffer.baseAddress! + window.offset * hidden, window.rows,
                dense.buffer.baseAddress! + window.offset * hidden, index
            ) { site, values in
                guard let accumulator = statistics[site] else { return }
                var clock = Stopwatch()
                if nonFinite == nil, !shears_sum(values.baseAddress!, values.count).isFinite { nonFinite = site }
                accumulator.accumulate(values)
                statisticsSeconds += clock.lap()
            }
            if let site = nonFinite {
                let readers = LinearMatrix.parts.filter { LinearMatrix.site($0) == site }.map { $0.name(layer: layer) }
                throw PruneError(
                    "layer \(layer): non-finite activation in the input of \(readers.joined(separator: ", ")) "
                        + "(calibration window \(firstWindow + index))")
            }
            try checkOutput(dense.buffer.baseAddress! + window.offset * hidden, window.rows, layer, index)
        }
        return statisticsSeconds
    }

    /// Number of calibration windows.
    var windowCount: Int { windows.count }

    /// Window `index`'s input to the current layer, `rows × hidden`.
    func input(window index: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(
            start: current.buffer.baseAddress! + windows[index].offset * hidden,
            count: windows[index].rows * hidden)
    }

    /// Window `index`'s dense output of the current layer (after `forwardDense`), `rows × hidden`.
    func denseOutput(window index: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(
            start: dense.buffer.baseAddress! + windows[index].offset * hidden,
            count: windows[index].rows * hidden)
    }

    /// Runs layer `layer` as the model now holds it on window `index`'s input into `output`
    /// (`rows × hidden`), filling `record` when given.
    func forward(
        _ forward: DecoderLayerForward, layer: Int, window index: Int, into output: UnsafeMutablePointer<Float>,
        record: LayerActivationRecord?
    ) throws(PruneError) {
        if let reason = cancellation?.reason { throw PruneError(cancelled: reason) }
        let window = windows[index]
        do {
            try forward.run(
                layer: layer, input: current.buffer.baseAddress! + window.offset * hidden, rows: window.rows,
                output: output, observe: nil, record: record)
        } catch {
            throw PruneError("layer \(layer): \(error)")
        }
    }

    /// Throws when the prune is cancelled.
    func checkCancellation() throws(PruneError) {
        if let reason = cancellation?.reason { throw PruneError(cancelled: reason) }
    }

    /// Makes the dense outputs of the last `forwardDense` the next layer's inputs (the dense
    /// pre-pass of a surveying allocator propagates dense activations).
    func adoptDense() { swap(&current, &dense) }

    /// Runs the pruned layer in place and returns how far its outputs are from the dense ones.
    func forwardPruned(_ forward: DecoderLayerForward, layer: Int) throws(PruneError) -> OutputError {
        try forwardInPlace(forward, layer: layer)
        let pruned = current.buffer, reference = dense.buffer
        var difference = 0.0, norm = 0.0
        for (index, window) in windows.enumerated() {
            for i in (window.offset * hidden)..<((window.offset + window.rows) * hidden) {
                let y = Double(reference[i])
                let delta = y - Double(pruned[i])
                difference += delta * delta
                norm += y * y
            }
            release(window: index)
        }
        return OutputError([difference, norm])
    }

    private func run(
        _ forward: DecoderLayerForward, _ layer: Int, _ input: UnsafeMutablePointer<Float>, _ rows: Int,
        _ output: UnsafeMutablePointer<Float>, _ window: Int,
        _ observe: ((LinearInputSite, UnsafeBufferPointer<Float>) -> Void)?
    ) throws(PruneError) {
        if let reason = cancellation?.reason { throw PruneError(cancelled: reason) }
        defer { release(window: window) }
        do { try forward.run(layer: layer, input: input, rows: rows, output: output, observe: observe) } catch {
            throw PruneError("layer \(layer): \(error)")
        }
    }

    private func checkOutput(
        _ output: UnsafePointer<Float>, _ rows: Int, _ layer: Int, _ window: Int
    ) throws(PruneError) {
        defer { release(window: window) }
        guard shears_sum(output, rows * hidden).isFinite else {
            throw PruneError(
                "layer \(layer): non-finite activation in the output of blk.\(layer) (calibration window \(firstWindow + window))"
            )
        }
    }
}

/// A pruned layer's output error over the calibration windows: `Σ‖dense − pruned‖²` and
/// `Σ‖dense‖²`, kept apart so that a distributed prune can sum them over its ranks.
struct OutputError {
    /// `Σ‖dense − pruned‖²`.
    var difference: Double
    /// `Σ‖dense‖²`.
    var norm: Double

    /// The two sums, in this order.
    init(_ sums: [Double]) {
        difference = sums[0]
        norm = sums[1]
    }

    /// `difference / norm` (0 when the dense output is zero).
    var ratio: Double { norm > 0 ? difference / norm : 0 }
}
