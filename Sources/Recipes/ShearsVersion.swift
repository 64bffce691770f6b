/// The release number, printed by `--version` and stored in written files.
package enum ShearsVersion {
    /// The release number.
    package static let number = "0.1.0"
}
