#!/bin/sh
# Run by busybox acpid for the ACPI power button (QMP system_powerdown).
# acpid runs this with stdout on its log file: write to the console.
echo "VNUMA POWEROFF" > /dev/console
sync
poweroff -f
