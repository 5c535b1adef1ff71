"""One driver per protocol (modbus_tcp, bacnet_ip, mqtt), all implementing iot_gateway.driver.Driver."""
