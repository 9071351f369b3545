/// NumPy `.npz` archives as `np.savez` writes them: a zip of stored (uncompressed) `NAME.npy` entries.
/// Each entry becomes the model array `NAME`. Sizes come from the central directory (zip64 included); every
/// offset and size is checked against the archive before use, and each entry's CRC-32 is verified.
public enum NPZ {
    public static func decode(_ bytes: [UInt8]) throws(NumPyError) -> Model {
        let directory = try ZipDirectory(bytes)
        var arrays: [NamedTensor] = []
        for entry in directory.entries {
            guard entry.name.hasSuffix(".npy"), entry.name.count > 4 else {
                throw .badEntry(name: entry.name, reason: "not a .npy entry")
            }
            let name = String(entry.name.dropLast(4))
            let contents = try directory.contents(of: entry)
            let tensor: Tensor
            do { tensor = try NPY.decode(contents) } catch {
                throw .badEntry(name: entry.name, reason: error.description)
            }
            do { arrays.append(try NamedTensor(name: name, tensor: tensor)) } catch {
                throw .badEntry(name: entry.name, reason: error.description)
            }
        }
        do { return try Model(arrays) } catch { throw .notZip(error.description) }
    }

    /// The archive `np.savez` would write for these arrays: one stored `NAME.npy` entry per array, in the model's
    /// order, without zip64 (refused past 4 GiB, far beyond any model a job may name).
    public static func encode(_ model: Model) throws(NumPyError) -> [UInt8] {
        var archive: [UInt8] = []
        var directory: [UInt8] = []
        for array in model.tensors {
            let name = Array((array.name + ".npy").utf8)
            let contents = NPY.encode(array.tensor)
            guard archive.count + contents.count < 0xFFFF_FFFF else { throw .tooLarge("a .npz over 4 GiB") }
            let fields = ZipFields(name: name, crc: CRC32.checksum(contents), size: UInt32(contents.count))
            directory += fields.centralEntry(localHeaderOffset: UInt32(archive.count))
            archive += fields.localHeader + contents
        }
        guard archive.count + directory.count < 0xFFFF_FFFF else { throw .tooLarge("a .npz over 4 GiB") }
        let end = ZipFields.endRecord(entries: model.tensors.count, directorySize: directory.count, offset: archive.count)
        return archive + directory + end
    }
}

/// The fields a stored zip entry repeats in its local header and central directory entry (version 2.0, no
/// compression, no timestamps: the same arrays always give the same bytes).
private struct ZipFields {
    let name: [UInt8]
    let crc: UInt32
    let size: UInt32

    /// Version needed, flags, method, time, date, CRC-32, sizes, name length, extra length.
    private var common: [UInt8] {
        ZipFields.le(20, 2) + ZipFields.le(0, 2) + ZipFields.le(0, 2) + ZipFields.le(0, 2) + ZipFields.le(0x21, 2)
            + ZipFields.le(UInt64(crc), 4) + ZipFields.le(UInt64(size), 4) + ZipFields.le(UInt64(size), 4)
            + ZipFields.le(UInt64(name.count), 2) + ZipFields.le(0, 2)
    }

    var localHeader: [UInt8] { ZipFields.le(0x0403_4B50, 4) + common + name }

    func centralEntry(localHeaderOffset: UInt32) -> [UInt8] {
        // Made by version 2.0; then comment length, disk, internal and external attributes, offset.
        ZipFields.le(0x0201_4B50, 4) + ZipFields.le(20, 2) + common + ZipFields.le(0, 2) + ZipFields.le(0, 2)
            + ZipFields.le(0, 2) + ZipFields.le(0, 4) + ZipFields.le(UInt64(localHeaderOffset), 4) + name
    }

    static func endRecord(entries: Int, directorySize: Int, offset: Int) -> [UInt8] {
        le(0x0605_4B50, 4) + le(0, 2) + le(0, 2) + le(UInt64(entries), 2) + le(UInt64(entries), 2)
            + le(UInt64(directorySize), 4) + le(UInt64(offset), 4) + le(0, 2)
    }

    static func le(_ value: UInt64, _ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}

/// The central directory of a zip archive, read from the end-of-central-directory record.
struct ZipDirectory {
    struct Entry {
        let name: String
        let method: UInt16
        let crc: UInt32
        let compressedSize: UInt64
        let size: UInt64
        let localHeaderOffset: UInt64
    }

    let bytes: [UInt8]
    let entries: [Entry]

    init(_ bytes: [UInt8]) throws(NumPyError) {
        self.bytes = bytes
        let end = try ZipDirectory.findEndRecord(bytes)
        var count = UInt64(try ZipDirectory.le16(bytes, end + 10))
        var offset = UInt64(try ZipDirectory.le32(bytes, end + 16))
        if count == 0xFFFF || offset == 0xFFFF_FFFF {
            (count, offset) = try ZipDirectory.zip64End(bytes, endRecord: end)
        }
        guard count <= UInt64(Model.maxTensors) else { throw .notZip("\(count) entries is over \(Model.maxTensors)") }
        var position = try ZipDirectory.checkedOffset(offset, in: bytes)
        var entries: [Entry] = []
        for _ in 0..<count {
            let (entry, next) = try ZipDirectory.entry(bytes, at: position)
            entries.append(entry)
            position = next
        }
        self.entries = entries
    }

    /// The stored bytes of `entry`, checked against its sizes and CRC-32.
    func contents(of entry: Entry) throws(NumPyError) -> [UInt8] {
        guard entry.method == 0 else {
            if entry.method == 8 { throw .compressedEntry(entry.name) }
            throw .badEntry(name: entry.name, reason: "compression method \(entry.method) is not supported")
        }
        guard entry.compressedSize == entry.size else {
            throw .badEntry(name: entry.name, reason: "stored entry with different compressed and plain sizes")
        }
        let local = try ZipDirectory.checkedOffset(entry.localHeaderOffset, in: bytes)
        guard try ZipDirectory.le32(bytes, local) == 0x0403_4B50 else {
            throw .badEntry(name: entry.name, reason: "missing local file header")
        }
        let start = local + 30 + Int(try ZipDirectory.le16(bytes, local + 26)) + Int(try ZipDirectory.le16(bytes, local + 28))
        guard start <= bytes.count, entry.size <= UInt64(bytes.count - start) else {
            throw .badEntry(name: entry.name, reason: "data runs past the end of the archive")
        }
        let data = Array(bytes[start..<(start + Int(entry.size))])
        guard CRC32.checksum(data) == entry.crc else { throw .badEntry(name: entry.name, reason: "CRC-32 mismatch") }
        return data
    }

    private static func entry(_ bytes: [UInt8], at position: Int) throws(NumPyError) -> (Entry, Int) {
        guard try le32(bytes, position) == 0x0201_4B50 else { throw .notZip("bad central directory entry") }
        let nameLength = Int(try le16(bytes, position + 28))
        let extraLength = Int(try le16(bytes, position + 30))
        let commentLength = Int(try le16(bytes, position + 32))
        let nameStart = position + 46
        let extraStart = nameStart + nameLength
        let next = extraStart + extraLength + commentLength
        guard next <= bytes.count else { throw .notZip("central directory entry runs past the end") }
        guard let name = String(validating: bytes[nameStart..<extraStart], as: UTF8.self) else {
            throw .notZip("entry name is not UTF-8")
        }
        var compressed = UInt64(try le32(bytes, position + 20))
        var size = UInt64(try le32(bytes, position + 24))
        var offset = UInt64(try le32(bytes, position + 42))
        // Zip64 extended information (header id 1) holds, in this order, each field that reads 0xFFFFFFFF.
        var extra = extraStart
        while extra + 4 <= extraStart + extraLength {
            let id = try le16(bytes, extra), length = Int(try le16(bytes, extra + 2))
            if id == 1 {
                var field = extra + 4
                func widened(_ value: UInt64) throws(NumPyError) -> UInt64 {
                    guard value == 0xFFFF_FFFF else { return value }
                    guard field + 8 <= extra + 4 + length else { throw .notZip("short zip64 extra field") }
                    defer { field += 8 }
                    return try le64(bytes, field)
                }
                size = try widened(size)
                compressed = try widened(compressed)
                offset = try widened(offset)
            }
            extra += 4 + length
        }
        let entry = Entry(name: name, method: try le16(bytes, position + 10), crc: try le32(bytes, position + 16),
                          compressedSize: compressed, size: size, localHeaderOffset: offset)
        return (entry, next)
    }

    private static func findEndRecord(_ bytes: [UInt8]) throws(NumPyError) -> Int {
        guard bytes.count >= 22 else { throw .notZip("too short for a zip archive") }
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        for position in stride(from: bytes.count - 22, through: lowest, by: -1)
        where bytes[position] == 0x50 && (try? le32(bytes, position)) == 0x0605_4B50 {
            return position
        }
        throw .notZip("no end of central directory record")
    }

    private static func zip64End(_ bytes: [UInt8], endRecord: Int) throws(NumPyError) -> (UInt64, UInt64) {
        let locator = endRecord - 20
        guard locator >= 0, try le32(bytes, locator) == 0x0706_4B50 else { throw .notZip("missing zip64 locator") }
        let record = try checkedOffset(try le64(bytes, locator + 8), in: bytes)
        guard try le32(bytes, record) == 0x0606_4B50 else { throw .notZip("bad zip64 end record") }
        return (try le64(bytes, record + 32), try le64(bytes, record + 48))
    }

    private static func checkedOffset(_ offset: UInt64, in bytes: [UInt8]) throws(NumPyError) -> Int {
        guard offset < UInt64(bytes.count) else { throw .notZip("offset \(offset) is past the end of the archive") }
        return Int(offset)
    }

    static func le16(_ bytes: [UInt8], _ at: Int) throws(NumPyError) -> UInt16 { UInt16(try little(bytes, at, 2)) }
    static func le32(_ bytes: [UInt8], _ at: Int) throws(NumPyError) -> UInt32 { UInt32(try little(bytes, at, 4)) }
    static func le64(_ bytes: [UInt8], _ at: Int) throws(NumPyError) -> UInt64 { try little(bytes, at, 8) }

    private static func little(_ bytes: [UInt8], _ at: Int, _ count: Int) throws(NumPyError) -> UInt64 {
        guard at >= 0, at + count <= bytes.count else { throw .notZip("truncated archive") }
        return (0..<count).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * $1) }
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zip uses.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        (0..<8).reduce(UInt32(index)) { crc, _ in crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        ~bytes.reduce(UInt32.max) { crc, byte in table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }
}
