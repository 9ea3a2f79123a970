import Foundation

extension UUID {
    /// A random (version 4) UUID from the system's generator, `getrandom`. `UUID()` opens, reads
    /// and closes `/dev/urandom` for each one: three system calls on every request's path.
    public static func systemRandom() -> UUID {
        var generator = SystemRandomNumberGenerator()
        return UUID.random(using: &generator)
    }
}
