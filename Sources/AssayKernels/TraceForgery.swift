extension Trace {
    /// A cheater's trace, for tests and `assay provider start --cheat`: the first byte of each of `tiles` flipped,
    /// and every layer after the first corrupted one recomputed tile by tile from the altered values, so that
    /// exactly those tiles fail their checks while every other tile is consistent with its inputs. The output is
    /// the altered last layer. Empty tiles (no bytes) cannot be corrupted and are refused, as are tiles that do not
    /// exist. Costs the work of every layer from the first corrupted one on.
    public func corrupting(_ tiles: Set<TileID>, threads: Int = 1) throws(KernelError) -> Trace {
        for id in tiles where try layout.tileRange(layer: id.layer, tile: id.tile).isEmpty {
            throw .invalidTile("\(id) is empty: it has no byte to corrupt")
        }
        guard let first = tiles.map(\.layer).min() else { return self }
        var outputs = layerOutputs
        for layer in first..<layout.layerCount {
            let tiling = layout.layers[layer]
            for tile in 0..<tiling.tileCount {
                let range = tiling.outputRange(tile)
                if layer > first {
                    let inputs = layout.plan.reads(layer: layer, tiling, tile: tile).flatMap { read in
                        (read.tensor == 0 ? jobInput : outputs[read.tensor - 1])[read.range]
                    }
                    let recomputed = try layout.recomputeTile(layer: layer, tile: tile, inputs: inputs, threads: threads)
                    outputs[layer].replaceSubrange(range, with: recomputed)
                }
                if tiles.contains(TileID(layer: layer, tile: tile)) { outputs[layer][range.lowerBound] ^= 0x01 }
            }
        }
        let last = output.output
        return Trace(
            layout: layout, jobInput: jobInput, layerOutputs: outputs, tileHashes: layout.tileHashes { Array(outputs[$0][$1]) },
            output: KernelOutput(
                output: try Tensor(dtype: last.dtype, shape: last.shape, data: outputs[outputs.count - 1]),
                workUnits: output.workUnits))
    }
}
