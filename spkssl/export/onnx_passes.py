"""Rewrites of an exported ONNX graph that ONNX Runtime runs faster, with the same values.

:func:`conv1d_as_conv2d`: every 1-D ``Conv`` (the TDNN and ECAPA layers) becomes a 2-D
``Conv`` over a ``[B, C, 1, T]`` view (``Unsqueeze`` before, ``Squeeze`` after, the kernel
``[O, I, 1, k]``).  The arithmetic is the same; ONNX Runtime's CPU provider has a blocked
(NCHWc) kernel for 2-D convolutions only, which ran these layers 1.4-1.7x faster here
(``benchmarks/inference.py``).

Example:
    >>> import onnx
    >>> from onnx import helper, numpy_helper, TensorProto
    >>> import numpy as np
    >>> w = numpy_helper.from_array(np.ones((4, 2, 3), np.float32), "w")
    >>> conv = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3], pads=[1, 1])
    >>> g = helper.make_graph([conv], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5])],
    ...                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 5])], [w])
    >>> m = conv1d_as_conv2d(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)]))
    >>> [n.op_type for n in m.graph.node], list(m.graph.initializer[0].dims)
    (['Unsqueeze', 'Conv', 'Squeeze'], [4, 2, 1, 3])
"""
from __future__ import annotations

from typing import Any

import numpy as np


def conv1d_as_conv2d(model: Any) -> Any:
    """Rewrite ``model`` (an ``onnx.ModelProto``) in place and return it; other nodes are untouched."""
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    axes = "spkssl_axis2"
    graph.initializer.append(numpy_helper.from_array(np.array([2], dtype=np.int64), axes))
    nodes = []
    for node in graph.node:
        weight = inits.get(node.input[1]) if node.op_type == "Conv" and len(node.input) > 1 else None
        if weight is None or len(weight.dims) != 3:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight)[:, :, None, :]
        name = weight.name if uses[weight.name] == 1 else f"{weight.name}_2d_{len(nodes)}"
        if name == weight.name:
            weight.CopyFrom(numpy_helper.from_array(w, name))
        else:
            graph.initializer.append(numpy_helper.from_array(w, name))
        x4, y4 = f"{node.input[0]}_2d_{len(nodes)}", f"{node.output[0]}_2d"
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        new = {"kernel_shape": [1, *attrs.get("kernel_shape", [w.shape[-1]])]}
        for key in ("dilations", "strides"):
            if key in attrs:
                new[key] = [1, *attrs[key]]
        if "pads" in attrs:
            p = attrs["pads"]
            new["pads"] = [0, p[0], 0, p[1]]
        for key in ("group", "auto_pad"):
            if key in attrs:
                new[key] = attrs[key]
        nodes.append(helper.make_node("Unsqueeze", [node.input[0], axes], [x4]))
        nodes.append(helper.make_node("Conv", [x4, name, *node.input[2:]], [y4], name=node.name, **new))
        nodes.append(helper.make_node("Squeeze", [y4, axes], [node.output[0]]))
    del graph.node[:]
    graph.node.extend(nodes)
    return model
