import ArgumentParser

@main
struct Assay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assay",
        abstract: "Assay: a permissioned chain whose token is a compute credit.",
        version: AssayVersion.string,
        subcommands: [Version.self, Keys.self, Debug.self, KernelCommand.self, ModelCommand.self, Simulate.self, GenesisCommand.self, NodeCommand.self, Query.self, Tx.self, JobClientCommand.self, ProviderCommand.self, BlobCommand.self, LightCommand.self, Loadgen.self]
    )
}

enum AssayVersion {
    static let string = "0.1.0"
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version of this assay binary.")
    func run() { print("assay \(AssayVersion.string)") }
}
