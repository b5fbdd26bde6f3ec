# boot: not a test; the accelerator probe (VM_ACCEL=auto) boots this and waits for "done".
