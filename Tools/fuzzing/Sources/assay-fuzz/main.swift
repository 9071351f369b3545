import FuzzHarnesses
import Foundation

/// `assay-fuzz NAME [libFuzzer flags and corpus directories]` fuzzes one harness; `assay-fuzz --list` lists them;
/// `assay-fuzz --seeds DIR` writes the seed corpora (real encodings from the codecs) under DIR/NAME.
/// Tools/fuzz wraps this with the build, the corpus and findings directories and a summary line per harness.

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// The harness libFuzzer's callback runs; set once before the driver starts.
nonisolated(unsafe) var selected: Harness?

/// libFuzzer's callback, under the name its runtime links against (a debug link keeps the runtime's own `main`
/// object, which names it; the driver is started here instead).
@_cdecl("LLVMFuzzerTestOneInput")
func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selected!.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: assay-fuzz --list | --seeds DIR | NAME [libFuzzer arguments]\n".utf8))
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { usage() }
switch arguments[1] {
case "--list":
    for harness in Harnesses.all { print(harness.name.padding(toLength: 14, withPad: " ", startingAt: 0), harness.summary) }
case "--seeds":
    guard arguments.count == 3 else { usage() }
    do { try Seeds.write(to: arguments[2]) } catch {
        FileHandle.standardError.write(Data("assay-fuzz: writing seeds failed: \(error)\n".utf8))
        exit(1)
    }
default:
    guard let harness = Harnesses.named(arguments[1]) else {
        FileHandle.standardError.write(Data("assay-fuzz: no harness named '\(arguments[1])' (see --list)\n".utf8))
        exit(2)
    }
    selected = harness
    // libFuzzer sees the program name and the arguments after the harness name.
    let driverArguments = [arguments[0]] + arguments.dropFirst(2)
    var argc = Int32(driverArguments.count)
    // Owned by libFuzzer for the life of the process, so never freed.
    var pointers: [UnsafeMutablePointer<CChar>?] = driverArguments.map { strdup($0) } + [nil]
    let status = pointers.withUnsafeMutableBufferPointer { buffer in
        var argv = buffer.baseAddress
        return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput)
    }
    exit(status)
}
