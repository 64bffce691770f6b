import ModelIO

/// Text generation with a key/value cache: the prompt is prefilled in one batch, then each new
/// token costs one cached single-row step.
public struct Generator {
    /// The model generating.
    public let model: Model

    /// Creates a generator for `model`.
    public init(model: Model) { self.model = model }

    /// Continues `prompt` by up to `maxTokens` tokens, stopping after the model's end-of-sequence
    /// token (which is included) or at `maxTokens`. `onToken` sees each token as it is chosen and
    /// may return false to stop early.
    ///
    /// - Throws: `InferenceError` for an empty prompt, a negative `maxTokens`, bad sampling options,
    ///   a prompt id outside the vocabulary, or a prompt plus continuation longer than the context.
    public func generate(
        prompt: [Int32], maxTokens: Int, sampling: SamplingOptions = SamplingOptions(),
        onToken: ((Int32) -> Bool)? = nil
    ) throws(InferenceError) -> [Int32] {
        guard !prompt.isEmpty else { throw InferenceError("the prompt is empty") }
        guard maxTokens >= 0 else { throw InferenceError("maximum new tokens \(maxTokens) must not be negative") }
        try sampling.validate()
        let context = model.config.contextLength
        guard prompt.count + maxTokens <= context else {
            throw InferenceError(
                "prompt of \(prompt.count) tokens plus \(maxTokens) new ones exceeds the context length \(context)")
        }
        if maxTokens == 0 { return [] }
        let forward = try ForwardPass(model: model, capacity: prompt.count + maxTokens)
        let endOfSequence = model.tokenizer.vocabulary.eosID
        var sampler = Sampler(options: sampling)
        var logits = try forward.lastLogits(appending: prompt)
        var output: [Int32] = []
        while true {
            let token = Int32(sampler.next(logits))
            output.append(token)
            let proceed = onToken?(token) ?? true
            if !proceed || token == endOfSequence || output.count == maxTokens { break }
            logits = try forward.lastLogits(appending: [token])
        }
        return output
    }
}
