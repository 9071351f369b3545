import AssayKernels

/// The kernel inputs clients hand in: `.npy` and `.npz` files (the CLI turns them into blobs), and the canonical
/// `Tensor` and `Model` blobs that validators and providers decode when they run or replay a job.
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
        Harness("model-blob", "Model (first byte even) or Tensor canonical bytes, as job blobs are decoded") { bytes in
            guard let choice = bytes.first else { return }
            let rest = Array(bytes.dropFirst())
            if choice & 1 == 0 { decodeCanonical(Model.self, rest) } else { decodeCanonical(Tensor.self, rest) }
        },
    ]
}
