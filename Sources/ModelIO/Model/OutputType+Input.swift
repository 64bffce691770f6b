extension OutputType {
    /// The type a pruned `model` is written in when none is asked for: the input's own where it
    /// keeps zeros exact, else the nearest symmetric type that is no larger per weight (Q4_1, Q4_K
    /// and the smaller K and IQ types → Q4_0; Q5_1, Q5_K, Q6_K → Q5_0), so a pruned file is not
    /// larger than its input. The input's type is the one holding most weights of its matrices.
    /// A safetensors output (`path` not ending in `.gguf`) gets F16 instead of a GGUF-only type.
    public static func matchingInput(of model: Model, output path: String) -> OutputType {
        var weights: [GGMLType: Int] = [:]
        for tensor in model.tensors where tensor.shape.count == 2 {
            weights[tensor.sourceType, default: 0] += tensor.count
        }
        let dominant = weights.max {
            $0.value < $1.value || ($0.value == $1.value && $0.key.rawValue > $1.key.rawValue)
        }?.key
        let chosen: OutputType
        switch dominant ?? .f16 {
        case .f32: chosen = .f32
        case .f16: chosen = .f16
        case .bf16: chosen = .bf16
        case .q8_0, .q8_1, .q8_K: chosen = .q8_0
        case .q5_0, .q5_1, .q5_K, .q6_K: chosen = .q5_0
        case .q4_0, .q4_1, .q4_K, .q3_K, .q2_K, .iq4_nl, .iq4_xs, .iq3_xxs, .iq3_s, .iq2_xxs, .iq2_xs, .iq2_s, .iq1_s,
            .tq2_0,
            .iq1_m, .tq1_0:
            chosen = .q4_0
        default: chosen = .f16
        }
        if ModelFormat.forOutput(path: path) == .safetensors, chosen.ggmlType.blockSize > 1 { return .f16 }
        return chosen
    }
}
