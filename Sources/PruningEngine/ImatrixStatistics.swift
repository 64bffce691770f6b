import ModelIO

/// The per-input statistics of a prune taken from a llama.cpp importance matrix instead of
/// calibration forwards (`PruneOptions.imatrix`).
///
/// An imatrix holds, per linear matrix, the mean over its calibration tokens of each input
/// channel's x². It stands for `InputStatistics.squaredNorms`, which Shears' own forwards gather
/// as a per-window sum (window length × mean x²): the two differ by one factor per matrix, to
/// which Wanda's per-row ranking, RIA's scores (a common factor of every score of a matrix) and
/// OWL's outlier ratios (against the mean score of their layer, all of whose matrices share the
/// factor) are all insensitive. Nothing else is in the file: steps that need XᵀX, moments,
/// gradients, the layer's calibration windows or unit scores are refused by `check`.
struct ImatrixStatistics {
    /// The matrix read from the file.
    let imatrix: ImportanceMatrix

    /// Refuses a chain that needs more than the mean x² per input channel, naming the first step
    /// that does and why.
    static func check(
        _ imatrix: ImportanceMatrix, modelSteps: [any ModelStep], matrixChain: [any PruneStep],
        surveyor: (any ModelSurveyingAllocator)?
    ) throws(PruneError) {
        let file = "the imatrix \(imatrix.path)"
        if let step = modelSteps.first {
            throw PruneError(
                "\(step.name) cannot run on \(file): structured steps score on calibration forwards and change "
                    + "shapes; an imatrix replaces only the per-input x² of wanda, ria and owl. Give calibration "
                    + "data instead")
        }
        for step in matrixChain {
            if let missing = describe(step.requirement.subtracting(.squaredNorms)) {
                throw PruneError(
                    "\(step.name) cannot run on \(file): it needs \(missing), and an imatrix holds only the mean "
                        + "x² per input channel. Give calibration data instead")
            }
            if step.gradientRequirement != nil {
                throw PruneError(
                    "\(step.name) cannot run on \(file): it needs loss gradients over calibration windows")
            }
            if let layerStep = step as? any LayerStep, layerStep.usesCalibration {
                throw PruneError(
                    "\(step.name) cannot run on \(file): it runs the layer on calibration windows "
                        + "(reconstruction); give calibration data instead")
            }
        }
        if let surveyor, let missing = describe(surveyor.surveyRequirement.subtracting(.squaredNorms)) {
            throw PruneError("\(surveyor.name) cannot run on \(file): its survey needs \(missing)")
        }
    }

    /// What a set of statistics beyond x² is, in words (nil: nothing beyond).
    private static func describe(_ extra: StatisticsRequirement) -> String? {
        var parts: [String] = []
        if extra.contains(.gram) { parts.append("XᵀX (the inputs' Gram matrix)") }
        if extra.contains(.moments) { parts.append("per-channel means and variances over windows") }
        if !extra.subtracting([.gram, .moments]).isEmpty { parts.append("statistics gathered by forwards") }
        return parts.isEmpty ? nil : parts.joined(separator: " and ")
    }

    /// The statistics of the input of tensor `name` (width `columns`).
    ///
    /// - Throws: `PruneError` when the imatrix has no entry for a targeted tensor (llama-imatrix
    ///   leaves out `output.weight` unless asked) or its width differs.
    func statistics(for name: String, columns: Int) throws(PruneError) -> InputStatistics {
        guard let entry = imatrix.entries[name] else {
            throw PruneError(
                "the imatrix \(imatrix.path) has no entry for \(name), which the prune targets: ignore it "
                    + "(--ignore \(name)) or make the imatrix with that tensor")
        }
        guard entry.sumOfSquares.count == columns else {
            throw PruneError(
                "the imatrix \(imatrix.path): \(name) has \(entry.sumOfSquares.count) input channels, the model's "
                    + "tensor \(columns): an imatrix for another model")
        }
        let chunks = imatrix.chunkCount ?? 0
        return InputStatistics(
            squaredNorms: entry.meanSquares, sequences: chunks,
            tokens: imatrix.format == .gguf ? Int(entry.count) : chunks * (imatrix.chunkSize ?? 0))
    }
}
