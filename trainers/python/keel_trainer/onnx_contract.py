"""Turns a converter's ONNX model (onnxmltools / skl2onnx) into one that honours Keel's ONNX contract.

Keel's contract (docs/training-contract.md, ml/onnx/export-model.ts): one graph input per feature, shape [N, 1], double
for numeric features and string for categorical ones (a missing category arrives as Keel's missing-category string);
outputs ``label`` (int64 [N, 1], 1 when p >= 0.5) and ``probability`` (double [N, 1]) for binary models, ``value``
(double [N, 1]) for regression, ``label`` (string [N]) and ``probabilities`` (double [N, K]) for multiclass; and the
``keel.*`` metadata. The preprocessing (type casts, category encoding, imputation) is inside the graph.
"""

from __future__ import annotations

import json
import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUTPUT_NAMES = ("label", "probability", "value", "probabilities")
CORE_PREFIX = "core/"


def input_names(features: list[dict]) -> list[str]:
    """Keel's graph input names: the feature name, unless it would clash with an output name."""
    taken = set(OUTPUT_NAMES)
    names = []
    for feature in features:
        name = feature["name"]
        while name in taken:
            name = f"{name}_input"
        taken.add(name)
        names.append(name)
    return names


def feature_schema(features: list[dict], categories: dict[str, list[str]]) -> list[dict]:
    schema = []
    for feature, graph_input in zip(features, input_names(features)):
        if feature["kind"] == "numeric":
            schema.append({"name": feature["name"], "kind": "numeric", "input": graph_input})
        else:
            schema.append({"name": feature["name"], "kind": "categorical", "categories": categories[feature["name"]], "input": graph_input})
    return schema


def _prefix_core(graph: onnx.GraphProto) -> None:
    """Renames every tensor of the converter's graph, so none can clash with Keel's input and output names."""
    rename = lambda name: name if name == "" else CORE_PREFIX + name  # noqa: E731
    for node in graph.node:
        node.input[:] = [rename(name) for name in node.input]
        node.output[:] = [rename(name) for name in node.output]
        node.name = rename(node.name) if node.name else node.name
    for collection in (graph.input, graph.output, graph.value_info):
        for value in collection:
            value.name = rename(value.name)
    for initializer in graph.initializer:
        initializer.name = rename(initializer.name)


def _keel_inputs(features: list[dict]) -> list[onnx.ValueInfoProto]:
    return [
        helper.make_tensor_value_info(name, TensorProto.DOUBLE if feature["kind"] == "numeric" else TensorProto.STRING, ["N", 1])
        for feature, name in zip(features, input_names(features))
    ]


def matrix_prelude(features: list[dict], categories: dict[str, list[str]], core_input: str) -> list[onnx.NodeProto]:
    """Keel's inputs → one float matrix [N, F]: numbers cast to float, categories to their index (unseen/missing: NaN)."""
    nodes, columns = [], []
    for index, (feature, name) in enumerate(zip(features, input_names(features))):
        column = f"keel/feature_{index}"
        if feature["kind"] == "numeric":
            nodes.append(helper.make_node("Cast", [name], [column], to=TensorProto.FLOAT))
        else:
            known = categories[feature["name"]]
            nodes.append(
                helper.make_node(
                    "LabelEncoder",
                    [name],
                    [column],
                    domain="ai.onnx.ml",
                    keys_strings=known,
                    values_floats=[float(code) for code in range(len(known))],
                    default_float=math.nan,
                )
            )
        columns.append(column)
    nodes.append(helper.make_node("Concat", columns, [CORE_PREFIX + core_input], axis=1))
    return nodes


def column_prelude(features: list[dict], core_inputs: list[str]) -> list[onnx.NodeProto]:
    """Keel's inputs → the converter's per-column inputs: numbers cast to float, text as it is."""
    nodes = []
    for feature, name, core_input in zip(features, input_names(features), core_inputs):
        op = "Cast" if feature["kind"] == "numeric" else "Identity"
        attributes = {"to": TensorProto.FLOAT} if feature["kind"] == "numeric" else {}
        nodes.append(helper.make_node(op, [name], [CORE_PREFIX + core_input], **attributes))
    return nodes


def heads(task: str, core_outputs: list[str], classes: list[str] | None) -> tuple[list[onnx.NodeProto], list, list[onnx.ValueInfoProto]]:
    """Keel's outputs from the converter's: probabilities (classifiers' second output) or the value (regressors')."""
    if task == "regression":
        nodes = [helper.make_node("Cast", [CORE_PREFIX + core_outputs[0]], ["value"], to=TensorProto.DOUBLE)]
        return nodes, [], [helper.make_tensor_value_info("value", TensorProto.DOUBLE, ["N", 1])]
    probabilities = CORE_PREFIX + core_outputs[1]
    if task == "binary":
        constants = [
            numpy_helper.from_array(np.array([1], dtype=np.int64), "keel/one"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "keel/two"),
            numpy_helper.from_array(np.array([0.5], dtype=np.float64), "keel/half"),
        ]
        nodes = [
            helper.make_node("Slice", [probabilities, "keel/one", "keel/two", "keel/one"], ["keel/positive"]),
            helper.make_node("Cast", ["keel/positive"], ["probability"], to=TensorProto.DOUBLE),
            helper.make_node("GreaterOrEqual", ["probability", "keel/half"], ["keel/is_positive"]),
            helper.make_node("Cast", ["keel/is_positive"], ["label"], to=TensorProto.INT64),
        ]
        outputs = [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N", 1]),
            helper.make_tensor_value_info("probability", TensorProto.DOUBLE, ["N", 1]),
        ]
        return nodes, constants, outputs
    assert classes is not None
    nodes = [
        helper.make_node("Cast", [probabilities], ["probabilities"], to=TensorProto.DOUBLE),
        helper.make_node("ArgMax", ["probabilities"], ["keel/best"], axis=1, keepdims=0),
        helper.make_node(
            "LabelEncoder",
            ["keel/best"],
            ["label"],
            domain="ai.onnx.ml",
            keys_int64s=list(range(len(classes))),
            values_strings=list(classes),
            default_string="",
        ),
    ]
    outputs = [
        helper.make_tensor_value_info("label", TensorProto.STRING, ["N"]),
        helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, ["N", len(classes)]),
    ]
    return nodes, [], outputs


def assemble(
    core: onnx.ModelProto,
    *,
    task: str,
    features: list[dict],
    categories: dict[str, list[str]],
    classes: list[str] | None,
    prelude: list[onnx.NodeProto],
    metadata: dict[str, str],
) -> bytes:
    """The converter's graph between Keel's inputs (prelude) and outputs (heads), with Keel's metadata."""
    core_outputs = [output.name for output in core.graph.output]
    graph = onnx.GraphProto()
    graph.CopyFrom(core.graph)
    _prefix_core(graph)
    head_nodes, constants, outputs = heads(task, core_outputs, classes)
    nodes = list(prelude) + list(graph.node) + head_nodes
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.input[:]
    graph.input.extend(_keel_inputs(features))
    del graph.output[:]
    graph.output.extend(outputs)
    graph.initializer.extend(constants)
    graph.name = f"keel_external_{task}"

    opsets = {entry.domain or "": entry.version for entry in core.opset_import}
    opsets[""] = max(opsets.get("", 0), 15)
    opsets["ai.onnx.ml"] = max(opsets.get("ai.onnx.ml", 0), 3)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(domain, version) for domain, version in opsets.items()])
    model.ir_version = max(core.ir_version, 8)
    model.producer_name = "keel-trainers-python"
    properties = {
        **metadata,
        "keel.features": json.dumps(feature_schema(features, categories)),
        "keel.task": task,
        "keel.model_kind": "external",
    }
    if classes is not None:
        properties["keel.classes"] = json.dumps(classes)
    helper.set_model_props(model, properties)
    onnx.checker.check_model(model)
    return model.SerializeToString()
