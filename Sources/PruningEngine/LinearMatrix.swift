import Inference
import ModelIO

/// The seven linear matrices of a decoder layer and the input each one reads.
package enum LinearMatrix {
    /// The linear parts in layer order.
    package static let parts: [LlamaTensorNames.Layer] = LlamaTensorNames.Layer.allCases.filter(\.isLinear)

    /// The input `part` reads (q, k, v share one; so do gate and up).
    package static func site(_ part: LlamaTensorNames.Layer) -> LinearInputSite {
        switch part {
        case .query, .key, .value: .attentionInput
        case .attentionOutput: .attentionContext
        case .gate, .up: .ffnInput
        default: .ffnHidden // down; the norms are not linear and never asked about
        }
    }
}
