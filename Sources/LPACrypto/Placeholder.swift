// LPACrypto
