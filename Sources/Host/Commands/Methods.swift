import ArgumentParser
import BuiltinMethods
import PruningEngine

/// `shears methods`: the built-in methods and steps with their parameters.
struct Methods: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the built-in pruning methods and steps with their parameters.",
        discussion: """
            The names are those of the recipe functions (shears.NAME{...}) and of shears prune \
            (--method NAME, --param NAME=VALUE); both check them the same way.
            """)

    func run() {
        for descriptor in MethodRegistry.builtins {
            print("\(descriptor.name): \(descriptor.summary)")
            for parameter in descriptor.parameters {
                var facts = [parameter.type.noun]
                if let value = parameter.defaultValue { facts.append("default \(value)") }
                if let range = parameter.range { facts.append("in \(range)") }
                if !parameter.aliases.isEmpty { facts.append("also " + parameter.aliases.joined(separator: ", ")) }
                print("  \(parameter.name) (\(facts.joined(separator: "; "))): \(parameter.help)")
            }
        }
    }
}
