// The transport room's door: the reliable cloud–edge stream, the MQTT bridge, the service bus and the stream tunnel. Nothing is exported yet; later issues fill it.
export {};
