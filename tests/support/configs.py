"""Small configuration files (SPEC section 3) for tests and benchmarks."""

import json
from pathlib import Path


def layer_entry(layer_id: str, filename: str, **fields) -> dict:
    provider = {"provider_type": "fits", "filename": filename}
    for key in ("hdu", "index"):
        if key in fields:
            provider[key] = fields.pop(key)
    return {"layer_id": layer_id, "name": layer_id, "provider": provider, **fields}


def config_with_layers(*layers: dict, **top) -> dict:
    """One group > one map > one band holding ``layers``; ``top`` adds source_groups/boxes."""
    return {
        "map_groups": [
            {
                "map_group_id": "group",
                "name": "Group",
                "description": "",
                "maps": [
                    {
                        "map_id": "map",
                        "name": "Map",
                        "description": "",
                        "bands": [
                            {
                                "band_id": "band",
                                "name": "Band",
                                "description": "",
                                "layers": list(layers),
                            }
                        ],
                    }
                ],
            }
        ],
        **top,
    }


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data, indent=1))
    return path
