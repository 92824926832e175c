"""The LoRA file a finished sandbox training "produces": a small, valid, deterministic .safetensors.

Real ImgOpen returns a URL to the trained LoRA; the sandbox serves one at
`/sandbox-files/imgopen/<taskId>/lora.safetensors` so downloads (and their sha256) can be
tested end to end. The file follows the safetensors layout — an 8-byte little-endian header
length, a JSON header, then tensor bytes — with one small U8 tensor whose bytes derive from the
taskId, and the training fields as kohya-style `ss_*` metadata. Same task, same bytes.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any

FILES_PREFIX = "/sandbox-files/imgopen"
FILE_NAME = "lora.safetensors"
TENSOR_BYTES = 4096


def file_path(task_id: str) -> str:
    return f"{FILES_PREFIX}/{task_id}/{FILE_NAME}"


def lora_bytes(task_id: str, fields: dict[str, Any]) -> bytes:
    data = b""
    block = hashlib.sha256(f"imgopen-lora:{task_id}".encode()).digest()
    while len(data) < TENSOR_BYTES:
        data += block
        block = hashlib.sha256(block).digest()
    data = data[:TENSOR_BYTES]
    metadata = {
        "format": "pt",
        "ss_base_model_version": "sd_v1" if not fields.get("v2") else "sd_v2",
        "ss_sd_model_name": str(fields.get("pretrainedModel", "")),
        "ss_network_module": str(fields.get("networkModule") or "networks.lora"),
        "ss_network_dim": str(fields.get("networkDim") or 32),
        "ss_network_alpha": str(fields.get("networkAlpha") or 16),
        "ss_epoch": str(fields.get("maxEpochs", "")),
        "ss_learning_rate": str(fields.get("learningRate", "")),
        "sandbox_task_id": task_id,
    }
    header = {
        "__metadata__": metadata,
        "lora_unet_sandbox.lora_down.weight": {
            "dtype": "U8",
            "shape": [TENSOR_BYTES],
            "data_offsets": [0, TENSOR_BYTES],
        },
    }
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8-byte alignment
    return struct.pack("<Q", len(text)) + text + data
