import PluginHost

/// A criterion of a loaded plugin, not yet instantiated: the object behind a
/// `shears.PluginCriterion` handle. Calling the handle with options creates the plugin's instance.
///
/// It holds the library, so the plugin stays loaded while the handle lives, whether or not the
/// `shears.Plugin` handle it came from is still open (steps hold their instances, which hold the
/// library too).
final class PluginCriterionReference {
    /// The plugin that offers the criterion.
    let library: PluginLibrary
    /// The criterion.
    let descriptor: PluginCriterionDescriptor

    /// Criterion `id` of `library`.
    ///
    /// - Throws: `PluginError` ("no such criterion (the plugin offers: ...)") for an unknown id.
    init(library: PluginLibrary, id: String) throws(PluginError) {
        self.library = library
        descriptor = try library.criterion(id)
    }
}
