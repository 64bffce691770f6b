/// A plugin that cannot be loaded, a criterion that cannot be created or run, or a bad parameter:
/// one line naming the plugin (its path) and, when there is one, the criterion.
public struct PluginError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The plugin's path as the user gave it.
    public var plugin: String
    /// The criterion id, or nil for a problem with the library as a whole.
    public var criterion: String?
    /// What is wrong, in one sentence.
    public var message: String

    /// Creates an error about `plugin` (and `criterion`, if any).
    public init(plugin: String, criterion: String? = nil, _ message: String) {
        self.plugin = plugin
        self.criterion = criterion
        self.message = message
    }

    /// `plugin PATH: criterion 'ID': message`.
    public var description: String {
        "plugin \(plugin): " + (criterion.map { "criterion '\($0)': " } ?? "") + message
    }
}
