import JSON

/// What one prune did, in the versioned JSON form `--report run.json` writes and `shears report`
/// reads (schema `shears.run-report`, version 1; `docs/reports.md` lists every field).
///
/// It holds the model read and the model produced (file hashes, shapes, parameter counts), the
/// calibration data (its hash), the steps, per layer and matrix what was reached, the time per
/// phase and peak memory, and any evaluations recorded afterwards.
package struct RunReport: Equatable, Sendable {
    /// The schema name written in every report.
    package static let schema = "shears.run-report"
    /// The schema version this build writes; it reads this one and older ones.
    package static let version = 1

    /// The Shears version that wrote the report.
    package var shearsVersion: String
    /// When the prune finished (UTC, ISO 8601).
    package var created: String
    /// How the prune was started (`shears prune ...` or the recipe file).
    package var command: String
    /// The model read.
    package var input: ModelSummary
    /// The model as pruned (its path, hash and size once written, nil until then).
    package var output: ModelSummary
    /// The calibration data, nil for a prune without any.
    package var calibration: CalibrationSummary?
    /// The steps, as a recipe describes them (`wanda(sparsity=0.5)`), in order.
    package var steps: [String]
    /// Zeros over all pruned matrices divided by their weights.
    package var sparsity: Double
    /// Per decoder layer with a pruned matrix.
    package var layers: [Layer]
    /// What the model-level steps (structured removals) did, in order.
    package var modelSteps: [ModelStep]
    /// Seconds per phase (`forwards`, `statistics`, `selection`, `reconstruction`, `gradients`), in
    /// the engine's order.
    package var phases: [(name: String, seconds: Double)]
    /// Wall-clock seconds of the prune.
    package var seconds: Double
    /// Peak resident memory of the process when the report was made.
    package var peakResidentBytes: Int
    /// Evaluations recorded after the prune, in order.
    package var evaluations: [Evaluation]

    package static func == (lhs: RunReport, rhs: RunReport) -> Bool { lhs.json == rhs.json }

    /// A report with every member given.
    package init(
        shearsVersion: String, created: String, command: String, input: ModelSummary, output: ModelSummary,
        calibration: CalibrationSummary?, steps: [String], sparsity: Double, layers: [Layer], modelSteps: [ModelStep],
        phases: [(name: String, seconds: Double)], seconds: Double, peakResidentBytes: Int, evaluations: [Evaluation]
    ) {
        self.shearsVersion = shearsVersion
        self.created = created
        self.command = command
        self.input = input
        self.output = output
        self.calibration = calibration
        self.steps = steps
        self.sparsity = sparsity
        self.layers = layers
        self.modelSteps = modelSteps
        self.phases = phases
        self.seconds = seconds
        self.peakResidentBytes = peakResidentBytes
        self.evaluations = evaluations
    }

    /// A model file and its shape.
    package struct ModelSummary: Equatable, Sendable {
        /// The file (or directory) path; nil for a model not (yet) written.
        package var path: String?
        /// SHA-256 of the file, nil when not computed (a directory, or not written yet).
        package var sha256: String?
        /// Size of the file in bytes.
        package var bytes: Int?
        /// `general.architecture` as the file has it or as it will be written (`llama`, `deci`).
        package var architecture: String
        /// Parameters over all tensors.
        package var parameters: Int
        /// The hidden size.
        package var hidden: Int
        /// Per decoder layer: query heads, KV heads and FFN width.
        package var layers: [LayerShape]

        package init(
            path: String?, sha256: String?, bytes: Int?, architecture: String, parameters: Int, hidden: Int,
            layers: [LayerShape]
        ) {
            self.path = path
            self.sha256 = sha256
            self.bytes = bytes
            self.architecture = architecture
            self.parameters = parameters
            self.hidden = hidden
            self.layers = layers
        }
    }

    /// One decoder layer's widths.
    package struct LayerShape: Equatable, Sendable {
        /// Query heads, KV heads, FFN channels.
        package var heads: Int, kvHeads: Int, ffn: Int

        package init(heads: Int, kvHeads: Int, ffn: Int) {
            self.heads = heads
            self.kvHeads = kvHeads
            self.ffn = ffn
        }
    }

    /// The calibration windows.
    package struct CalibrationSummary: Equatable, Sendable {
        /// Where they came from (a text and its windows, self-generated, ...).
        package var source: String
        /// Windows and tokens.
        package var windows: Int, tokens: Int
        /// SHA-256 of the windows' token ids, each as a little-endian int32, window after window.
        package var sha256: String

        package init(source: String, windows: Int, tokens: Int, sha256: String) {
            self.source = source
            self.windows = windows
            self.tokens = tokens
            self.sha256 = sha256
        }
    }

    /// One decoder layer's outcome.
    package struct Layer: Equatable, Sendable {
        /// Layer index.
        package var index: Int
        /// Zeros over the layer's pruned matrices divided by their weights.
        package var sparsity: Double
        /// The allocator's target for the layer (OWL's, or the uniform one).
        package var target: Double?
        /// OWL's outlier ratio D (percent) and N:M pattern, when OWL planned the layer.
        package var outlierRatio: Double?, pattern: String?
        /// Relative reconstruction error of the layer's output on the calibration set.
        package var error: Double?
        /// Seconds spent on the layer.
        package var seconds: Double
        /// Its pruned matrices.
        package var matrices: [Matrix]

        package init(
            index: Int, sparsity: Double, target: Double?, outlierRatio: Double?, pattern: String?, error: Double?,
            seconds: Double, matrices: [Matrix]
        ) {
            self.index = index
            self.sparsity = sparsity
            self.target = target
            self.outlierRatio = outlierRatio
            self.pattern = pattern
            self.error = error
            self.seconds = seconds
            self.matrices = matrices
        }
    }

    /// One pruned matrix.
    package struct Matrix: Equatable, Sendable {
        /// Tensor name.
        package var name: String
        /// Weights and exact zeros.
        package var count: Int, zeros: Int
        /// The target sparsity.
        package var target: Double
        /// The steps' remarks.
        package var notes: [String]

        package init(name: String, count: Int, zeros: Int, target: Double, notes: [String]) {
            self.name = name
            self.count = count
            self.zeros = zeros
            self.target = target
            self.notes = notes
        }

        /// `zeros / count`.
        package var sparsity: Double { Double(zeros) / Double(max(count, 1)) }
    }

    /// A model-level step.
    package struct ModelStep: Equatable, Sendable {
        /// The step's name.
        package var step: String
        /// Blocks removed (indices before removal) and each scored block's score.
        package var removedBlocks: [Int], blockScores: [(block: Int, score: Double)]
        /// One line per other removal.
        package var notes: [String]

        package init(step: String, removedBlocks: [Int], blockScores: [(block: Int, score: Double)], notes: [String]) {
            self.step = step
            self.removedBlocks = removedBlocks
            self.blockScores = blockScores
            self.notes = notes
        }

        package static func == (lhs: ModelStep, rhs: ModelStep) -> Bool {
            lhs.step == rhs.step && lhs.removedBlocks == rhs.removedBlocks && lhs.notes == rhs.notes
                && lhs.blockScores.map(\.block) == rhs.blockScores.map(\.block)
                && lhs.blockScores.map(\.score) == rhs.blockScores.map(\.score)
        }
    }

    /// An evaluation of the pruned model.
    package struct Evaluation: Equatable, Sendable {
        /// What was evaluated on (e.g. `wikitext-2 test`).
        package var name: String
        /// Perplexity, and the chunks and tokens per chunk it was measured on.
        package var perplexity: Double?
        package var seqlen: Int?, chunks: Int?
        /// Mean KL divergence from the base and the share of tokens whose top choice agrees.
        package var kldMean: Double?, sameTop: Double?
        /// Any other figures, by name.
        package var extra: [(name: String, value: Double)]

        package init(
            name: String, perplexity: Double?, seqlen: Int?, chunks: Int?, kldMean: Double?, sameTop: Double?,
            extra: [(name: String, value: Double)]
        ) {
            self.name = name
            self.perplexity = perplexity
            self.seqlen = seqlen
            self.chunks = chunks
            self.kldMean = kldMean
            self.sameTop = sameTop
            self.extra = extra
        }

        package static func == (lhs: Evaluation, rhs: Evaluation) -> Bool {
            lhs.name == rhs.name && lhs.perplexity == rhs.perplexity && lhs.seqlen == rhs.seqlen
                && lhs.chunks == rhs.chunks && lhs.kldMean == rhs.kldMean && lhs.sameTop == rhs.sameTop
                && lhs.extra.map(\.name) == rhs.extra.map(\.name) && lhs.extra.map(\.value) == rhs.extra.map(\.value)
        }
    }
}
