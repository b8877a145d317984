module stockagent

go 1.26
