#if canImport(Glibc)
import Glibc
#endif

/// One fuzzing input: its bytes. Returns 0, as libFuzzer requires.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Hands control to libFuzzer with `target`, and exits with its status. SwiftPM gives every
/// executable its own `main`, so each fuzzer calls libFuzzer's driver itself instead of linking
/// libFuzzer's `main`.
public func runLibFuzzer(_ target: FuzzTarget) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(fuzzerDriver(&argc, &argv, target))
}

@_silgen_name("LLVMFuzzerRunDriver")
func fuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: FuzzTarget
) -> CInt
