"""Simulated hall devices speaking real Modbus TCP, BACnet/IP and MQTT on loopback, with hall dynamics and scenarios."""
