import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads the text fields of an AWS query-protocol XML answer (STS) into a dictionary keyed by
/// element path: `GetCallerIdentityResponse/GetCallerIdentityResult/Arn`.
///
/// Namespaces are ignored; an element that holds other elements has no entry of its own.
final class XMLFieldReader: NSObject, XMLParserDelegate {
    private var path: [String] = []
    private var text = ""
    private var fields: [String: String] = [:]

    /// The fields of a document, `nil` when it is not well-formed XML.
    static func fields(of data: Data) -> [String: String]? {
        let reader = XMLFieldReader()
        let parser = XMLParser(data: data)
        parser.delegate = reader
        guard parser.parse() else { return nil }
        return reader.fields
    }

    func parser(
        _ parser: XMLParser,
        didStartElement elementName: String,
        namespaceURI: String?,
        qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        self.path.append(elementName)
        self.text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        self.text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        let value = self.text.trimmingASCIIWhitespace()
        if !value.isEmpty {
            self.fields[self.path.joined(separator: "/")] = value
        }
        self.text = ""
        _ = self.path.popLast()
    }
}
