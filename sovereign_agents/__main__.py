from sovereign_agents.cli import main

main()
