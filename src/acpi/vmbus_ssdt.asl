/*
 * SPDX-License-Identifier: MIT
 * The VMBus device, in its own SSDT so that it is present only when the VM
 * has a VMBus (Hyper-V SynIC enabled). Linux's hv_vmbus binds to _HID
 * "VMBus" and walks _CRS of the device and its ancestors (the PCI root's
 * windows give it MMIO space); Windows' vmbus.sys binds to the same ID.
 */
DefinitionBlock ("", "SSDT", 2, "HVKVM ", "HVKVMVMB", 1)
{
    External (\_SB.PCI0.ISA, DeviceObj)

    Scope (\_SB.PCI0.ISA)
    {
        Device (VMBS)
        {
            /* A method: iasl rejects a 5-character _HID string literal. */
            Method (_HID, 0, NotSerialized)
            {
                Return ("VMBus")
            }
            Name (_UID, Zero)
            Name (_DDN, "VMBUS")
            Name (_CRS, ResourceTemplate ()
            {
                IRQNoFlags () {5}
            })
            Method (_STA, 0, NotSerialized)
            {
                Return (0x0F)
            }
        }
    }
}
