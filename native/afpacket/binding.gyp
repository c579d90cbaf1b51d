{
  "targets": [
    {
      "target_name": "afpacket",
      "sources": ["src/afpacket.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["src/afpacket.c"]}]]
    }
  ]
}
