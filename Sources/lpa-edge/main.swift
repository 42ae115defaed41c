print("lpa-edge")
