"""NetYpareo (YParéo) source: CFA data read over SOAP with zeep."""
