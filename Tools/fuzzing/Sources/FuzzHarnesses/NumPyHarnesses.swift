import AssayKernels

/// The kernel inputs clients hand in: `.npy` and `.npz` files (the CLI turns them into blobs), the canonical
/// `Tensor` and `Model` blobs that validators and providers decode when they run or replay a job, and a provider's
/// output as the client's CLI streams it into a `.npy` file.
enum NumPyHarnesses {
    static let all: [Harness] = [
        Harness("npy", "NPY.decode; what decodes must survive NPY.encode and decode again unchanged") { bytes in
            guard let tensor = try? NPY.decode(bytes) else { return }
            let again: Tensor
            do { again = try NPY.decode(NPY.encode(tensor)) } catch { fatalError("NPY.encode wrote a file NPY.decode refuses: \(error)") }
            if again != tensor { fatalError("NPY.encode then NPY.decode changed the tensor") }
        },
        Harness("npz", "NPZ.decode: zip central directory, entries, CRC-32, each .npy") { bytes in
            guard let model = try? NPZ.decode(bytes) else { return }
            _ = model.canonicalBytes
        },
        Harness("npy-stream", "NPYStream (assay job output): a tensor's encoding in pieces of the size the first byte gives") { bytes in
            guard let split = bytes.first.map({ Int($0) + 1 }) else { return }
            let encoding = Array(bytes.dropFirst())
            var stream = NPYStream()
            var npy: [UInt8] = []
            var start = 0
            do {
                repeat {
                    let end = min(encoding.count, start + split)
                    npy += try stream.npyBytes(Array(encoding[start..<end]))
                    start = end
                } while start < encoding.count
                try stream.finish()
            } catch {
                if (try? Tensor(canonicalBytes: encoding)) != nil { fatalError("NPYStream refused a tensor: \(error)") }
                return
            }
            // What streams through must be the file NPY.encode writes for the same tensor, when the tensor decodes.
            if let tensor = try? Tensor(canonicalBytes: encoding), npy != NPY.encode(tensor) {
                fatalError("NPYStream wrote other bytes than NPY.encode")
            }
        },
        Harness("model-blob", "Model (first byte even) or Tensor canonical bytes, as job blobs are decoded") { bytes in
            guard let choice = bytes.first else { return }
            let rest = Array(bytes.dropFirst())
            if choice & 1 == 0 { decodeCanonical(Model.self, rest) } else { decodeCanonical(Tensor.self, rest) }
        },
    ]
}
