"""What a process needs around the science: the device and CPU threads it may use, outputs that are
never half-written, and the record of the software that shaped its bytes."""
