import Foundation
import ModelIO
import PruningEngine

/// The built-in methods as descriptors: what `shears prune` and the recipe functions
/// (`shears.magnitude{...}`, ...) offer, with one set of names, defaults and checks for both.
public enum MethodRegistry {
    /// Every built-in method and step, in listing order: the four methods, then the OWL
    /// allocator, the DSnoT refiner and the fixed-mask reconstruction.
    public static let builtins: [MethodDescriptor] = [
        magnitude, wanda, sparseGPT, ria, taylor, besa, owl, dsnot, reconstruct, blocks, shortened, llmPruner, flap,
        minitron, scop, heads, kvGroups, channels, hidden, michel,
    ]

    /// The methods `shears prune --method` chooses from (those with their own criterion or mask,
    /// and block removal).
    public static let methods: [MethodDescriptor] = [
        magnitude, wanda, sparseGPT, ria, taylor, besa, blocks, shortened, llmPruner, flap, minitron, scop, heads,
        kvGroups, channels, hidden, michel,
    ]

    /// The method called `name` (`-` and `_` alike: `llm-pruner` is `llm_pruner`), if any.
    public static func method(named name: String) -> MethodDescriptor? {
        let spelled = name.replacingOccurrences(of: "-", with: "_")
        return methods.first { $0.name == spelled }
    }

    /// Layer lists as `layers = "4-27"` or `"0,2,5-7"` give them: ranges inclusive.
    public static func layerList(_ entries: [String], parameter: String) throws(PruneError) -> [Int] {
        var layers: [Int] = []
        for entry in entries.flatMap({ $0.split(separator: ",") }) {
            let bounds = entry.split(separator: "-", omittingEmptySubsequences: false).map {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
            guard (1...2).contains(bounds.count), let first = bounds.first!, let last = bounds.last!, first <= last,
                first >= 0
            else {
                throw PruneError("\(parameter): '\(entry)' is not a layer or a range such as 4-27")
            }
            layers += Array(first...last)
        }
        return layers
    }

    // MARK: Shared parameters

    private static let sparsity = MethodParameter(
        "sparsity", .number, range: MethodParameterRange(0, 1),
        help: "the fraction of each linear matrix to prune (implied by an N:M pattern; leave it out after an allocator)"
    )
    private static let pattern = MethodParameter(
        "pattern", .pattern, default: .pattern(.unstructured), provenance: .unlessDefault,
        help: "the sparsity pattern: unstructured or N:M (at most N nonzeros in every M consecutive weights of a row)")
    private static let blocksize = MethodParameter(
        "blocksize", .integer, default: .integer(128), range: MethodParameterRange(1),
        help: "the columns updated together (a multiple of M for N:M)")
    private static let damp = MethodParameter(
        "damp", .number, default: .number(0.01), range: MethodParameterRange(0),
        help: "the damping added to the Hessian diagonal, as a fraction of its mean")

    /// SCOP for LLMs: query heads, KV groups and FFN channels set against knockoffs.
    public static let scop = MethodDescriptor(
        name: "scop",
        summary:
            "removes the query heads, KV groups and FFN channels the model is content to replace by knockoffs (a control group with the real features' statistics): gates mixing each unit with its knockoff trained on the LM loss with the weights frozen, a local closed-form program, or a regression of the loss over random knockoff swaps; uniform rate per layer (SCOP, Tang et al., adapted to LLMs)",
        parameters: [
            MethodParameter(
                "ratio", .layerNumbers, range: MethodParameterRange(0, 1),
                help:
                    "the fraction of each layer's FFN channels and KV groups, and of each KV group's query heads, to remove, or one per layer"
            ),
            params,
            MethodParameter(
                "units", .names, default: .names(["heads", "channels"]), provenance: .unlessDefault,
                help: "the units mixed and pruned: heads or kv_groups, and channels (e.g. heads,channels)"),
            MethodParameter(
                "knockoffs", .choice(SCOP.Knockoffs.allCases.map(\.rawValue)), default: .string("unpaired"),
                help:
                    "the control group: model (sequences sampled from the model itself), unpaired (the second half of the calibration windows), gaussian (redundancy-aware Gaussian knockoffs at each site) or zeros (the ablation without knockoffs)"
            ),
            MethodParameter(
                "estimate", .choice(SCOP.Estimate.allCases.map(\.rawValue)), default: .string("gradient"),
                help:
                    "how importance is estimated: gradient (gates trained by Adam on the LM loss of the mixed stream), local (the closed-form program on each reading matrix) or regression (ridge fit of the loss increase over random knockoff swap sets)"
            ),
            MethodParameter(
                "steps", .integer, default: .integer(300), range: MethodParameterRange(1),
                help: "Adam steps on the gates (gradient)"),
            MethodParameter(
                "batch", .integer, default: .integer(8), range: MethodParameterRange(1),
                help: "calibration windows per step (gradient), or per swap set (regression)"),
            MethodParameter(
                "swaps", .integer, range: MethodParameterRange(1), provenance: .unlessDefault,
                help: "swap sets (regression; default 4 per unit, refused above 10,000: give it then)"),
            MethodParameter(
                "swap_probability", .number, default: .number(0.1),
                range: MethodParameterRange(0, includesLower: false, 1),
                provenance: .unlessDefault,
                help: "the probability that a swap set hands a unit to its knockoff (regression)"),
            MethodParameter(
                "lr", .number, default: .number(0.01), range: MethodParameterRange(0, includesLower: false),
                help: "Adam's learning rate on the gates (gradient)"),
            MethodParameter(
                "scale", .boolean, provenance: .unlessDefault,
                help:
                    "multiply the importance 2β − 1 by the unit's output scale (the reference's |γ_BN| factor; gradient only, default true)"
            ),
            MethodParameter(
                "compensation", .choice(WidthCompensation.names), default: .string("none"), provenance: .unlessDefault,
                help:
                    "what replaces the removed units' contribution: none (as SCOP, which fine-tunes instead), bias (FLAP's mean bias) or ridge (least-squares refit of the reading matrix's kept columns)"
            ),
            MethodParameter(
                "lambda", .number, default: .number(0.01), range: MethodParameterRange(0), provenance: .unlessDefault,
                help:
                    "the ridge penalty towards the original columns, relative to the mean diagonal of the kept inputs' Gram matrix"
            ),
            roundTo,
            MethodParameter(
                "layers", .names, provenance: .unlessDefault, help: "the layers pruned, e.g. 4-27 (default: all)"),
            MethodParameter(
                "seed", .integer, default: .integer(0), range: MethodParameterRange(0), provenance: .unlessDefault,
                help: "the seed of the Gaussian knockoffs' noise and of the model-sampled knockoff windows"),
        ]
    ) { arguments throws(PruneError) in
        var units: Set<SCOP.Unit> = []
        for name in arguments.names("units")!.flatMap({ $0.split(separator: ",") }) {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let unit = SCOP.Unit(rawValue: trimmed) else {
                throw PruneError("scop: units: '\(trimmed)' is not heads, kv_groups or channels")
            }
            units.insert(unit)
        }
        let layers = try arguments.names("layers").map { names throws(PruneError) in
            try layerList(names, parameter: "layers")
        }
        let seed = arguments.integer("seed") ?? 0
        guard seed >= 0 else { throw PruneError("scop: seed must be at least 0, got \(seed)") }
        return [
            try SCOP(
                budget: try StructuredBudget.from(arguments, step: "scop"), units: units,
                knockoffs: SCOP.Knockoffs(rawValue: arguments.string("knockoffs")!)!,
                estimate: SCOP.Estimate(rawValue: arguments.string("estimate")!)!, steps: arguments.integer("steps")!,
                batch: arguments.integer("batch")!, learningRate: arguments.number("lr")!,
                scale: arguments.boolean("scale"), swaps: arguments.integer("swaps"),
                swapProbability: arguments.number("swap_probability")!,
                compensation: WidthCompensation(
                    name: arguments.string("compensation")!, lambda: arguments.number("lambda")!, step: "scop"),
                roundTo: arguments.integer("round_to")!, layers: layers, seed: UInt64(seed))
        ]
    }

    private static let params = MethodParameter(
        "params", .number, range: MethodParameterRange(0, 1), provenance: .unlessDefault,
        help: "instead of ratio: the fraction of the model's parameters to remove (the ratio coming closest is found)")

    // MARK: Methods

    /// Depth pruning: whole blocks removed by one criterion (perplexity, Taylor+, Block Influence).
    public static let blocks = blockRemoval(
        name: "blocks", criteria: BlockRemoval.Criterion.allCases,
        summary:
            "removes whole blocks, least important first by one score computed once: ppl (calibration perplexity without the block), taylor+ (Σ|W⊙g| over the block) or bi (Block Influence, 1 − cos of the block's input and output)"
    )

    /// Shortened LLaMA (Kim et al.): one-shot block removal by perplexity or Taylor+.
    public static let shortened = blockRemoval(
        name: "shortened", criteria: [.ppl, .taylorPlus],
        summary:
            "removes whole blocks at once, least important first by the calibration perplexity without each or by Taylor+ (Shortened LLaMA, Kim et al.)"
    )

    /// The descriptor of a `BlockRemoval` offering `criteria`.
    private static func blockRemoval(
        name: String, criteria: [BlockRemoval.Criterion], summary: String
    ) -> MethodDescriptor {
        MethodDescriptor(
            name: name, summary: summary,
            parameters: [
                MethodParameter(
                    "remove", .integer, range: MethodParameterRange(1), help: "the number of blocks to remove"),
                MethodParameter(
                    "params", .number, range: MethodParameterRange(0, includesLower: false, 1),
                    provenance: .unlessDefault,
                    help: "instead of remove: the fraction of the model's parameters to remove in whole blocks"),
                MethodParameter(
                    "criterion", .choice(criteria.map(\.rawValue)), default: .string("ppl"),
                    help: "how blocks are scored: "
                        + criteria.map { criterion in
                            switch criterion {
                            case .ppl: "ppl (the calibration perplexity without the block)"
                            case .taylorPlus: "taylor+ (Σ|W⊙g| over the block's weights, one gradient)"
                            case .bi: "bi (Block Influence: 1 − mean cos of its input and output)"
                            }
                        }.joined(separator: ", ")),
                MethodParameter(
                    "keep_ends", .boolean, default: .boolean(true), provenance: .unlessDefault,
                    help: "keep the first four and the last two blocks (the reference's + heuristic)"),
            ]
        ) { arguments throws(PruneError) in
            let criterion = BlockRemoval.Criterion(rawValue: arguments.string("criterion")!)!
            let keepEnds = arguments.boolean("keep_ends")!
            switch (arguments.integer("remove"), arguments.number("params")) {
            case (let count?, nil): return [try BlockRemoval(count: count, criterion: criterion, keepEnds: keepEnds)]
            case (nil, let fraction?):
                return [try BlockRemoval(parameters: fraction, criterion: criterion, keepEnds: keepEnds)]
            case (nil, nil): throw PruneError("\(name): give remove = N or params = P")
            case (_?, _?): throw PruneError("\(name): give remove or params, not both")
            }
        }
    }

    /// Minitron: homogeneous width pruning of FFN and hidden channels by activation importance.
    public static let minitron = MethodDescriptor(
        name: "minitron",
        summary:
            "removes the same number of FFN channels from every layer and hidden channels from the whole model by activation importance (mean over tokens, L2 over windows) from one dense pass (Minitron, Muralidharan et al.)",
        parameters: [
            MethodParameter(
                "ratio", .number, range: MethodParameterRange(0, 1),
                help: "the fraction of the FFN width and of the hidden width to remove"),
            params,
            MethodParameter(
                "hidden", .boolean, default: .boolean(true), provenance: .unlessDefault,
                help: "also prune hidden channels (false: FFN channels only)"),
            roundTo,
        ]
    ) { arguments throws(PruneError) in
        [
            try Minitron(
                budget: try StructuredBudget.from(arguments, step: "minitron"), ffn: true,
                hidden: arguments.boolean("hidden")!, roundTo: arguments.integer("round_to")!)
        ]
    }

    /// Hidden channels (the residual stream's width) removed by Minitron's activation importance.
    public static let hidden = MethodDescriptor(
        name: "hidden",
        summary:
            "removes the lowest-scoring hidden channels everywhere: embedding column, norm entries, q/k/v/gate/up columns, o/down rows, output column (criterion: minitron)",
        parameters: [
            MethodParameter(
                "ratio", .number, range: MethodParameterRange(0, 1), help: "the fraction of hidden channels to remove"),
            MethodParameter(
                "criterion", .choice(["minitron"]), default: .string("minitron"),
                help: "the score: minitron (the norm outputs' activation importance summed over every layer)"),
            roundTo,
        ]
    ) { arguments throws(PruneError) in
        guard let ratio = arguments.number("ratio") else { throw PruneError("hidden: give ratio = R") }
        return [try Minitron(budget: .ratio(ratio), ffn: false, hidden: true, roundTo: arguments.integer("round_to")!)]
    }

    private static let roundTo = MethodParameter(
        "round_to", .integer, default: .integer(1), range: MethodParameterRange(1), provenance: .unlessDefault,
        help:
            "round every kept FFN (and hidden) width to the nearest multiple of this, never below it (64 suits llama.cpp's kernels); a params target is then met as closely as the rounded widths allow"
    )

    /// LLM-Pruner: block-wise Taylor importance of KV groups and FFN channels, `ratio` of each removed.
    public static let llmPruner = MethodDescriptor(
        name: "llm_pruner",
        summary:
            "removes KV groups and FFN channels by Taylor importance from one gradient of the dense model, ratio of each in every chosen layer (LLM-Pruner block-wise, Ma et al.)",
        parameters: [
            MethodParameter(
                "ratio", .layerNumbers, range: MethodParameterRange(0, 1),
                help:
                    "the fraction of each chosen layer's FFN channels and KV channels to remove (whole heads), or one per layer"
            ),
            params,
            MethodParameter(
                "importance", .choice(LLMPruner.Importance.allCases.map(\.rawValue)), default: .string("param_first"),
                help:
                    "the importance: the Taylor terms param_first, param_second, param_mix or vectorize, the magnitude baselines l1, l2, or random (seeded)"
            ),
            MethodParameter(
                "seed", .integer, default: .integer(0), range: MethodParameterRange(0), provenance: .unlessDefault,
                help: "the seed of random importance"),
            MethodParameter(
                "grouping", .choice(LLMPruner.Grouping.allCases.map(\.rawValue)), provenance: .unlessDefault,
                help: "how a unit's members are combined per channel (default: sum for Taylor, mean for l1/l2)"),
            MethodParameter(
                "global", .boolean, default: .boolean(false), provenance: .unlessDefault,
                help: "rank every chosen layer's units together (the reference's --global_pruning)"),
            MethodParameter(
                "layers", .names, provenance: .unlessDefault,
                help: "the layers pruned, e.g. 4-27 (default: all but the first four and the last two)"),
            MethodParameter(
                "attention_layers", .names, provenance: .unlessDefault,
                help: "the layers whose KV groups are pruned (default: layers)"),
            MethodParameter(
                "mlp_layers", .names, provenance: .unlessDefault,
                help: "the layers whose FFN channels are pruned (default: layers)"),
            roundTo,
        ]
    ) { arguments throws(PruneError) in
        let budget = try StructuredBudget.from(arguments, step: "llm_pruner")
        let layers = try arguments.names("layers").map { names throws(PruneError) in
            try layerList(names, parameter: "layers")
        }
        let attention = try arguments.names("attention_layers").map { names throws(PruneError) in
            try layerList(names, parameter: "attention_layers")
        }
        let mlp = try arguments.names("mlp_layers").map { names throws(PruneError) in
            try layerList(names, parameter: "mlp_layers")
        }
        let seed = arguments.integer("seed")!
        guard seed >= 0 else { throw PruneError("llm_pruner: seed must be at least 0, got \(seed)") }
        return [
            try LLMPruner(
                budget: budget, importance: LLMPruner.Importance(rawValue: arguments.string("importance")!)!,
                grouping: arguments.string("grouping").map { LLMPruner.Grouping(rawValue: $0)! },
                attentionLayers: attention ?? layers, mlpLayers: mlp ?? layers, global: arguments.boolean("global")!,
                roundTo: arguments.integer("round_to")!, seed: UInt64(seed))
        ]
    }

    /// FLAP: fluctuation-based removal of KV groups and FFN channels with bias compensation.
    public static let flap = MethodDescriptor(
        name: "flap",
        summary:
            "removes KV groups and FFN channels whose inputs fluctuate least over the calibration windows, adding their mean contribution back as a bias (FLAP, An et al.)",
        parameters: [
            MethodParameter(
                "ratio", .layerNumbers, range: MethodParameterRange(0, 1),
                help:
                    "the fraction to remove: of each layer's units (UL-UM, or one per layer), of the attention + FFN cost (AL-AM)"
            ),
            params,
            MethodParameter(
                "metric", .choice(FLAP.Metric.allCases.map(\.rawValue)), default: .string("WIFV"),
                help: "the fluctuation metric: IFV, WIFV (weighted by the column norm) or WIFN"),
            MethodParameter(
                "structure", .choice(FLAP.Structure.allCases.map(\.rawValue)), default: .string("AL-AM"),
                help: "UL-UM (uniform per layer) or AL-AM (one cost-weighted threshold over all layers)"),
            MethodParameter(
                "bias", .boolean, default: .boolean(true),
                help: "add the removed inputs' mean contribution back as attn_output/ffn_down biases"),
            roundTo,
        ]
    ) { arguments throws(PruneError) in
        return [
            try FLAP(
                budget: try StructuredBudget.from(arguments, step: "flap"),
                metric: FLAP.Metric(rawValue: arguments.string("metric")!)!,
                structure: FLAP.Structure(rawValue: arguments.string("structure")!)!, bias: arguments.boolean("bias")!,
                roundTo: arguments.integer("round_to")!)
        ]
    }

    /// Query heads removed by one criterion, equally from every KV group.
    public static let heads = unitRemoval(
        .queryHeads,
        summary: "removes the lowest-scoring query heads of every chosen layer, the same number from each KV group")
    /// KV groups (with their query heads) removed by one criterion.
    public static let kvGroups = unitRemoval(
        .kvGroups,
        summary: "removes the lowest-scoring KV groups (with the query heads reading them) of every chosen layer")
    /// FFN channels removed by one criterion.
    public static let channels = unitRemoval(
        .channels, summary: "removes the lowest-scoring FFN channels of every chosen layer")
    /// Michel et al.: query heads removed by their gate gradient's magnitude per token, or by ablation.
    public static let michel = unitRemoval(
        .queryHeads, name: "michel", criteria: [.michel, .ablation], default: .michel,
        summary:
            "removes the query heads whose gate gradient |∂L/∂gate|, summed over tokens, is smallest (or, criterion = ablation, whose masking raises the loss least), the same number from each KV group (Michel et al.); `iterative = k` rescores after every k heads"
    )

    /// The descriptor of a `UnitRemoval` of `unit` called `name` (the unit's own name by default),
    /// scoring by one of `criteria`.
    private static func unitRemoval(
        _ unit: UnitRemoval.Unit, name: String? = nil,
        criteria: [UnitRemoval.Criterion] = UnitRemoval.Criterion.allCases,
        default defaultCriterion: UnitRemoval.Criterion = .wandaSP, summary: String
    ) -> MethodDescriptor {
        let name = name ?? unit.rawValue
        let explained: [UnitRemoval.Criterion: String] = [
            .magnitude: "magnitude", .wandaSP: "wanda_sp", .minitron: "minitron",
            .taylor: "taylor (Σ_windows |∂L/∂gate|)",
            .michel: "michel (Σ_tokens |∂L/∂gate|; heads, channels)",
            .ablation: "ablation (loss increase with the unit masked; heads, kv_groups)",
        ]
        return MethodDescriptor(
            name: name,
            summary: name == unit.rawValue
                ? summary
                    + " (criteria: magnitude, wanda_sp of FLAP, minitron, taylor, michel and ablation of Michel et al.)"
                : summary,
            parameters: [
                MethodParameter(
                    "ratio", .layerNumbers, range: MethodParameterRange(0, 1),
                    help: unit == .queryHeads
                        ? "the fraction of each KV group's query heads to remove (or one per layer)"
                        : "the fraction of each layer's units to remove (or one per layer)"),
                params,
                MethodParameter(
                    "criterion", .choice(criteria.map(\.rawValue)), default: .string(defaultCriterion.rawValue),
                    help: "the score: " + criteria.map { explained[$0]! }.joined(separator: ", ")),
                MethodParameter(
                    "layers", .names, provenance: .unlessDefault, help: "the layers pruned, e.g. 4-27 (default: all)"),
            ]
                + (criteria.contains(.magnitude)
                    ? [
                        MethodParameter(
                            "norm", .integer, default: .integer(2),
                            range: MethodParameterRange(1, 2, includesUpper: true), provenance: .unlessDefault,
                            help: "the norm of magnitude: 1 or 2")
                    ] : [])
                + [
                    MethodParameter(
                        "iterative", .integer, range: MethodParameterRange(1), provenance: .unlessDefault,
                        help: unit == .queryHeads
                            ? "remove this many heads per KV group per round, rescoring between rounds (default: all at once)"
                            : "remove this many units per layer per round, rescoring between rounds (default: all at once)"
                    ),
                    MethodParameter(
                        "compensation", .choice(WidthCompensation.names), default: .string("none"),
                        provenance: .unlessDefault,
                        help:
                            "what replaces the removed units' contribution: none, bias (FLAP's mean bias) or ridge (least-squares refit of the reading matrix's kept columns)"
                    ),
                    MethodParameter(
                        "lambda", .number, default: .number(0.01), range: MethodParameterRange(0),
                        provenance: .unlessDefault,
                        help:
                            "the ridge penalty towards the original columns, relative to the mean diagonal of the kept inputs' Gram matrix"
                    ),
                ] + (unit == .channels ? [roundTo] : [])
        ) { arguments throws(PruneError) in
            let budget = try StructuredBudget.from(arguments, step: name)
            let layers = try arguments.names("layers").map { names throws(PruneError) in
                try layerList(names, parameter: "layers")
            }
            return [
                try UnitRemoval(
                    unit: unit, criterion: UnitRemoval.Criterion(rawValue: arguments.string("criterion")!)!,
                    budget: budget, layers: layers, norm: arguments.integer("norm") ?? 2,
                    roundTo: arguments.integer("round_to") ?? 1, iterative: arguments.integer("iterative"),
                    compensation: WidthCompensation(
                        name: arguments.string("compensation")!, lambda: arguments.number("lambda")!,
                        step: name))
            ]
        }
    }

    /// Magnitude: |W|, one threshold per matrix (the reference baseline) or per row; no data.
    public static let magnitude = MethodDescriptor(
        name: "magnitude",
        summary: "|W|, pruned per matrix (≤ τ, the reference baseline) or per row; needs no calibration",
        parameters: [
            sparsity, pattern,
            MethodParameter(
                "scope", .choice(["matrix", "row"]), default: .string("matrix"),
                help: "the comparison group of unstructured sparsity"),
        ]
    ) { arguments throws(PruneError) in
        try PruneMethod.magnitude(
            sparsity: arguments.number("sparsity"), pattern: arguments.pattern("pattern")!,
            scope: PruneMethod.MagnitudeScope(rawValue: arguments.string("scope")!)!)
    }

    /// Wanda: |W|·‖X_j‖ per output row or N:M.
    public static let wanda = MethodDescriptor(
        name: "wanda", summary: "|W|·‖X_j‖ per output row or N:M (Sun et al.)",
        parameters: [
            sparsity, pattern,
            MethodParameter(
                "variant", .boolean, default: .boolean(false), provenance: .unlessDefault,
                help: "the adaptive-α variant (--use_variant; unstructured only)"),
        ]
    ) { arguments throws(PruneError) in
        try PruneMethod.wanda(
            sparsity: arguments.number("sparsity"), pattern: arguments.pattern("pattern")!,
            variant: arguments.boolean("variant")!)
    }

    /// SparseGPT: the OBS update with its own block-wise mask.
    public static let sparseGPT = MethodDescriptor(
        name: "sparsegpt", summary: "OBS reconstruction choosing its own block-wise mask (Frantar & Alistarh)",
        parameters: [sparsity, pattern, blocksize, damp]
    ) { arguments throws(PruneError) in
        try PruneMethod.sparseGPT(
            sparsity: arguments.number("sparsity"), pattern: arguments.pattern("pattern")!,
            blocksize: arguments.integer("blocksize")!, damping: arguments.number("damp")!)
    }

    /// RIA: relative importance and activations, optionally with the channel permutation.
    public static let ria = MethodDescriptor(
        name: "ria",
        summary:
            "relative importance × ‖X_j‖^a, per matrix, per row or N:M, with RIA's channel permutation (Zhang et al.)",
        parameters: [
            sparsity, pattern,
            MethodParameter(
                "a", .number, default: .number(0.5), range: MethodParameterRange(0),
                help: "the exponent of the activation norm"),
            MethodParameter(
                "scope", .choice(["matrix", "row"]), default: .string("matrix"),
                provenance: .custom { $0.pattern("pattern") == .unstructured ? $0.string("scope") : nil },
                help: "the comparison group of unstructured sparsity (row: --per_outneuron)"),
            MethodParameter(
                "permute", .boolean, default: .boolean(false), provenance: .unlessDefault,
                help: "the channel permutation before N:M selection (--reallocation)"),
            MethodParameter(
                "lsa", .boolean,
                provenance: .custom { $0.boolean("permute")! ? "\($0.boolean("lsa") ?? true)" : nil },
                help: "linear-sum-assignment rounds refining the permutation (default: true with permute)"),
        ]
    ) { arguments throws(PruneError) in
        try PruneMethod.ria(
            sparsity: arguments.number("sparsity"), pattern: arguments.pattern("pattern")!,
            exponent: arguments.number("a")!, scope: PruneMethod.RIAScope(rawValue: arguments.string("scope")!)!,
            permute: arguments.boolean("permute")!, lsa: arguments.boolean("lsa"))
    }

    /// Taylor: the dense model's loss gradient times the weight, per output row or N:M.
    public static let taylor = MethodDescriptor(
        name: "taylor",
        summary:
            "|W·∂L/∂W| (order 1) or |W·∂L/∂W − ½·W·F·W| (order 2, F the Fisher diagonal) from one reverse pass over the calibration windows, per output row or N:M (LLM-Pruner's element-wise Taylor, Ma et al.)",
        parameters: [
            sparsity, pattern,
            MethodParameter(
                "order", .integer, default: .integer(1), range: MethodParameterRange(1, 2, includesUpper: true),
                provenance: .unlessDefault,
                help: "1: the first-order term (param_first); 2: with LLM-Pruner's second-order Fisher term (param_mix)"
            ),
        ]
    ) { arguments throws(PruneError) in
        let value = arguments.integer("order")!
        guard let order = TaylorScore.Order(rawValue: value) else {
            throw PruneError("taylor: order must be 1 or 2, got \(value)")
        }
        return try PruneMethod.taylor(
            sparsity: arguments.number("sparsity"), pattern: arguments.pattern("pattern")!, order: order)
    }

    /// BESA: per-row sparsities learned by blockwise reconstruction (a layer step).
    public static let besa = MethodDescriptor(
        name: "besa",
        summary:
            "learns a sparsity per output row by minimising each block's output reconstruction error under a target penalty, rows pruned in the order of the criterion before it (Wanda by default) (BESA, Xu et al.)",
        parameters: [
            MethodParameter(
                "sparsity", .number, range: MethodParameterRange(0, includesLower: false, 1),
                help: "the target fraction of each block's linear weights to prune (leave it out after an allocator)"),
            MethodParameter(
                "epochs", .integer, default: .integer(1), range: MethodParameterRange(1), provenance: .unlessDefault,
                help: "the passes over the calibration windows, one optimiser step per window"),
            MethodParameter(
                "beta", .number, default: .number(5), range: MethodParameterRange(0),
                help: "the weight of the penalty ((S − p)/p)² on the block's expected sparsity"),
            MethodParameter(
                "d_coef", .number, default: .number(5), range: MethodParameterRange(0, includesLower: false),
                provenance: .custom { $0.string("optimizer") == "prodigy" ? "\($0.number("d_coef")!)" : nil },
                help: "Prodigy's coefficient of its step-size estimate"),
            MethodParameter(
                "candidates", .integer, default: .integer(101), range: MethodParameterRange(2),
                provenance: .unlessDefault, help: "the candidate sparsities per row, 1 down to 0 in equal steps"),
            MethodParameter(
                "granularity", .choice(BESA.Granularity.allCases.map(\.rawValue)), default: .string("row"),
                provenance: .unlessDefault, help: "row: a sparsity per output row; layer: one per matrix"),
            MethodParameter(
                "optimizer", .choice(BESA.Optimizer.allCases.map(\.rawValue)), default: .string("prodigy"),
                provenance: .unlessDefault, help: "prodigy (the reference's) or adamw"),
            MethodParameter(
                "lr", .number, range: MethodParameterRange(0, includesLower: false), provenance: .unlessDefault,
                help: "the learning rate (default: 1 for prodigy, 0.01 for adamw)"),
            MethodParameter(
                "exact", .boolean, default: .boolean(false), provenance: .unlessDefault,
                help: "correct each block's pruned count to the target (a deviation: BESA's penalty is soft)"),
        ]
    ) { arguments throws(PruneError) in
        try PruneMethod.besa(
            sparsity: arguments.number("sparsity"), epochs: arguments.integer("epochs")!,
            beta: arguments.number("beta")!, dCoefficient: arguments.number("d_coef")!,
            candidates: arguments.integer("candidates")!,
            granularity: BESA.Granularity(rawValue: arguments.string("granularity")!)!,
            optimizer: BESA.Optimizer(rawValue: arguments.string("optimizer")!)!, lr: arguments.number("lr"),
            exact: arguments.boolean("exact")!)
    }

    // MARK: Steps

    /// OWL: per-layer sparsity from the dense model's outlier ratios (an allocator).
    public static let owl = MethodDescriptor(
        name: "owl", summary: "allocator: per-layer sparsity from each layer's share of outlier weights (Yin et al.)",
        parameters: [
            MethodParameter(
                "sparsity", .number, range: MethodParameterRange(0, 1),
                help: "the overall target (unstructured; implied by an N:M pattern)"),
            pattern,
            MethodParameter(
                "m", .number, default: .number(5), range: MethodParameterRange(0, includesLower: false),
                aliases: ["M"], help: "the outlier multiplier"),
            MethodParameter(
                "lambda", .number, default: .number(0.08), range: MethodParameterRange(0),
                help: "the spread of the layer sparsities around the target"),
        ]
    ) { arguments throws(PruneError) in
        try PruneMethod.owl(
            sparsity: arguments.number("sparsity"), pattern: arguments.pattern("pattern")!,
            outlierMultiplier: arguments.number("m")!, lambda: arguments.number("lambda")!)
    }

    /// DSnoT: grow-and-prune cycles on the chosen mask (a refiner).
    public static let dsnot = MethodDescriptor(
        name: "dsnot", summary: "refiner: grow-and-prune cycles on the chosen mask, no weight update (Zhang et al.)",
        parameters: [
            MethodParameter(
                "max_cycles", .integer, default: .integer(50), range: MethodParameterRange(0),
                help: "the cycles per row at most"),
            MethodParameter(
                "threshold", .number, default: .number(0.1), range: MethodParameterRange(0),
                help: "the |ε| at which a row stops"),
            MethodParameter(
                "power", .number, default: .number(1), range: MethodParameterRange(0),
                help: "the exponent of the variance in the growth order"),
            MethodParameter(
                "layers", .names, default: .names(["attention"]),
                help: "the parts refined: attention, mlp, all or part names (attn_q, ffn_down, ...)"),
            MethodParameter(
                "grow_pruned_only", .boolean, default: .boolean(false), provenance: .unlessDefault,
                help: "growth restricted to pruned weights"),
        ]
    ) { arguments throws(PruneError) in
        var parts: Set<LlamaTensorNames.Layer> = []
        for name in arguments.names("layers")! { parts.formUnion(try DSnoTRefiner.parts(named: name)) }
        return try PruneMethod.dsnot(
            maxCycles: arguments.integer("max_cycles")!, threshold: arguments.number("threshold")!,
            power: arguments.number("power")!, parts: parts,
            growPrunedOnly: arguments.boolean("grow_pruned_only")!)
    }

    /// The OBS re-fit of the weights the previous steps kept (SparseGPT's solver with a fixed mask).
    public static let reconstruct = MethodDescriptor(
        name: "reconstruct",
        summary: "reconstructor: SparseGPT's OBS update of the kept weights under the mask chosen before",
        parameters: [blocksize, damp]
    ) { arguments throws(PruneError) in
        [
            try SparseGPTReconstructor(
                maskSource: .fixedMask, blocksize: arguments.integer("blocksize")!,
                damping: arguments.number("damp")!)
        ]
    }
}
