from gatehouse.release.rehearsal.run import main

raise SystemExit(main())
