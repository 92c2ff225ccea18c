import KubescratchCommands

// The whole executable: parse, run, exit with the command's status.
await Kubescratch.runAsRoot()
