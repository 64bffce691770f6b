import ArgumentParser

/// The `shears` command: prune, evaluate and convert LLaMA-family models.
@main
struct Shears: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shears",
        abstract: "Prune, evaluate and convert LLaMA-family language models.",
        version: "0.1.0"
    )
}
