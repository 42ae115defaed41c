print("lpa-sim")
